// Report tables: a category's subcategory rows open and close under it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.expand");
  if (!button) return;
  const open = button.closest("tbody").classList.toggle("open");
  button.setAttribute("aria-expanded", String(open));
  button.textContent = open ? "▾" : "▸";
});
