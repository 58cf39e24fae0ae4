// Loaded after require.js and before the widget manager (see nb_ipywidgets_js in _config.yml).
// The widget manager finds its own chunks and fonts through require.js under the module name
// "@jupyter-widgets/html-manager/dist"; point that name at the copy bundled with this book, next to
// this file, so that a page in any folder loads them from the book itself and never from a CDN.
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here || typeof window.require === "undefined") { return; }
  var bundled = here.replace(/requirejs\/widget-paths\.js(\?.*)?$/, "html-manager");
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": bundled } });
})();
