/* Part of lsis_robust (BSD-3-Clause), not of asv.  Opened from disk (file://), a browser refuses the
   XMLHttpRequests with which asv's page loads its JSON, and the page shows only a network error.  The publish
   step (scripts/asv_publish.py) bundles every JSON file of the site into offline-data.js; this jQuery transport
   answers asv's $.ajax calls from that bundle.  Served over http (asv preview), the page fetches as usual. */
(function ($) {
  "use strict";
  if (window.location.protocol !== "file:") {
    return;
  }
  $.ajaxTransport("+*", function (options) {
    var path = options.url.split("?")[0];
    try {
      path = decodeURIComponent(path);  // asv encodes each part of a graph's path (machine names may have spaces)
    } catch (e) {
      // not an encoding asv writes: looked up as it is, and answered 404
    }
    var data = window.ASV_OFFLINE_DATA || {};
    var timer = null;
    return {
      send: function (headers, complete) {
        // asynchronous, as a real request is: asv sets up its handlers after $.ajax returns
        timer = window.setTimeout(function () {
          if (Object.prototype.hasOwnProperty.call(data, path)) {
            complete(200, "OK", {text: data[path]});
          } else if (path === "swallow.ico") {
            // asv asks for its icon after a failed graph load to tell "no data" from "server down"
            complete(200, "OK", {text: ""});
          } else {
            complete(404, "Not Found");
          }
        }, 0);
      },
      abort: function () {
        window.clearTimeout(timer);
      }
    };
  });
})(jQuery);
