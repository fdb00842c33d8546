/* Small behaviours every page shares. */
(function () {
  'use strict'
  /* Move keyboard focus to what needs attention first (refused uploads, form errors). */
  var first = document.querySelector('[data-autofocus]')
  if (first) first.focus()
  /* Ask before destructive or irreversible actions that carry data-confirm. */
  document.addEventListener('submit', function (event) {
    var message = event.target.getAttribute('data-confirm')
    if (message && !window.confirm(message)) event.preventDefault()
  })
})()
