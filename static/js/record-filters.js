// The record list's filters: choosing a township asks the server again for the page with
// that township's villages (a province has 16 000 of them: the page never carries them
// all). No inline script (the content security policy forbids them); without this file
// the "Filter" button does the same.
(function () {
  var townships = document.querySelectorAll("select[data-village-filter]");
  Array.prototype.forEach.call(townships, function (township) {
    township.addEventListener("change", function () {
      var village = document.getElementById(township.dataset.villageFilter);
      if (village) { village.value = ""; }
      township.form.submit();
    });
  });
})();
