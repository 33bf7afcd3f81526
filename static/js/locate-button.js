// The household-discovery form: a button that fills latitude and longitude from the
// phone, shown only where the browser can locate. No inline script (the content security
// policy forbids them); the messages come from the page in data attributes.
(function () {
  var button = document.getElementById("locate");
  var state = document.getElementById("locate-state");
  if (!button || !state || !("geolocation" in navigator)) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    state.textContent = state.dataset.waiting;
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("lat").value = p.coords.latitude.toFixed(6);
      document.getElementById("lon").value = p.coords.longitude.toFixed(6);
      state.textContent = state.dataset.found.replace("__M__", Math.round(p.coords.accuracy));
    }, function () {
      state.textContent = state.dataset.none;
    }, {enableHighAccuracy: true, timeout: 20000});
  });
})();
