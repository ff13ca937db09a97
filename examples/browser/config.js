// Where the example's pages find the API. The example's server (scripts/serve_static.py,
// for make run and make test) answers /config.js itself with the API it was given
// (API_URL); wherever these files are served as they are, edit this line.
window.WRISTBAND_API = "http://localhost:9000";
