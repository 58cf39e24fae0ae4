#!/usr/bin/env bash
# Bundle the browser libraries the built book needs, so that no page loads code from another host.
#   MathJax 3 (math), require.js and @jupyter-widgets/html-manager 1.x (embedded ipywidgets).
# Versions are pinned in package.json / package-lock.json; the files land in vendor/, which
# _config.yml copies to the root of _build/html through Sphinx's html_extra_path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  command -v npm >/dev/null || { echo "error: npm not found; install Node.js (npm) to bundle MathJax and the widget manager" >&2; exit 1; }
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
rm -rf vendor
mkdir -p vendor/mathjax vendor/requirejs vendor/html-manager
# MathJax: the es5 bundle (tex-chtml.js plus the fonts and extensions it loads on demand)
cp -R node_modules/mathjax/es5/. vendor/mathjax/
cp node_modules/requirejs/require.js vendor/requirejs/require.js
cp scripts/widget-paths.js vendor/requirejs/widget-paths.js
# html-manager: the AMD embed bundle and the chunks/fonts it loads relative to itself (no source maps)
find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f ! -name '*.map' \
  -exec cp {} vendor/html-manager/ \;
# The widgets' stylesheet asks for its icon fonts at "@jupyter-widgets/<hash>.<ext>" relative to the
# page, so each folder that holds pages with widgets gets a copy next to it
for folder in book notebooks; do
  mkdir -p "vendor/$folder/@jupyter-widgets"
  find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f \
    \( -name '*.woff2' -o -name '*.woff' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
    -exec cp {} "vendor/$folder/@jupyter-widgets/" \;
done
for f in mathjax/LICENSE requirejs/LICENSE; do
  [ -f "node_modules/$f" ] && cp "node_modules/$f" "vendor/${f%%/*}/LICENSE"
done
echo "vendored: $(du -sh vendor | cut -f1) in vendor/ (MathJax $(node -p "require('./node_modules/mathjax/package.json').version"), require.js $(node -p "require('./node_modules/requirejs/package.json').version"), html-manager $(node -p "require('./node_modules/@jupyter-widgets/html-manager/package.json').version"))"
