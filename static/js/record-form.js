// The phone form: ask the browser for its position once, when the worker allows it.
// No inline script (the content security policy forbids them); nothing is sent anywhere
// but the form itself.
(function () {
  var state = document.getElementById("position-state");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (!state || !lat || !lon) { return; }
  if (lat.value) { state.textContent = state.dataset.found; return; }  // kept from before a search
  if (!("geolocation" in navigator)) { state.textContent = state.dataset.none; return; }
  state.textContent = state.dataset.waiting;
  navigator.geolocation.getCurrentPosition(function (pos) {
    lat.value = pos.coords.latitude.toFixed(6);
    lon.value = pos.coords.longitude.toFixed(6);
    state.textContent = state.dataset.found;
  }, function () {
    state.textContent = state.dataset.none;
  }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
})();
