// Keyboard-first labeling. Number keys label and move on, s skips, u undoes, n opens a note,
// ? shows the keys. The next item is already in the page (#ahead), so a key press swaps it in at
// once; the label goes to the server in the background and its answer (the item after that, and
// the progress bar out of band) is swapped into #ahead by htmx.
(function () {
  "use strict";
  const root = document.getElementById("labeler");
  if (!root) return;
  const current = document.getElementById("current");
  const ahead = document.getElementById("ahead");
  const flash = document.getElementById("flash");
  const help = document.getElementById("keys-help");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  let shownAt = performance.now();
  let inFlight = Promise.resolve();
  // The undo on its way, if any. Keys pressed meanwhile wait for it, so that they act on the
  // item it brings back: a quick "u" then "2" changes the last label (instead of labelling the
  // item still on screen), and a quick second "u" goes one label further back.
  let undoing = null;

  const itemIn = (slot) => slot.querySelector("article.item");
  const isLabelable = (item) => item && item.dataset.assignment;

  function say(message) {
    flash.textContent = message || "";
    flash.hidden = !message;
  }

  function onScreen() {
    return [itemIn(current), itemIn(ahead)]
      .filter(isLabelable)
      .map((item) => item.dataset.assignment)
      .join(",");
  }

  function loading() {
    const text = document.createElement("p");
    text.className = "muted loading";
    text.textContent = "Loading the next item…";
    return text;
  }

  function place(slot, item) {
    slot.replaceChildren();
    if (item) slot.appendChild(item);
  }

  // The server's answer is the next item (and the bar, out of band). It waits in #ahead, or
  // goes straight on screen when the annotator was faster than the network.
  function receive(text) {
    if (isLabelable(itemIn(ahead))) return; // an item put back by undo waits there already
    htmx.swap(ahead, text, { swapStyle: "innerHTML" });
    if (!itemIn(current)) {
      place(current, itemIn(ahead));
      place(ahead, null);
      shownAt = performance.now();
    }
  }

  // Requests go one after another so that the server sees labels in the order they were given.
  function send(url, fields, onFailure) {
    inFlight = inFlight.then(async () => {
      fields.on_screen = onScreen();
      let response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { "X-CSRFToken": csrf, "HX-Request": "true" },
          body: new URLSearchParams(fields),
          credentials: "same-origin",
        });
      } catch (error) {
        onFailure("Network error: the label was not saved. Press the key again.");
        return;
      }
      const text = await response.text();
      if (!response.ok) {
        onFailure(text || "The server refused this label (" + response.status + ").");
        return;
      }
      receive(text);
    });
    return inFlight;
  }

  function submit(url, fields) {
    const item = itemIn(current);
    if (!isLabelable(item) || item.dataset.sent === "1") return;
    item.dataset.sent = "1";
    const waiting = itemIn(ahead);
    Object.assign(fields, {
      assignment: item.dataset.assignment,
      item: item.dataset.item,
      ticket: item.dataset.ticket,
      time_spent_ms: String(Math.round(performance.now() - shownAt)),
    });
    place(current, waiting || loading());
    place(ahead, null);
    shownAt = performance.now();
    say("");
    const restore = (message) => {
      // Put the item back so the annotator can try again; nothing was stored.
      item.dataset.sent = "";
      if (itemIn(current)) place(ahead, itemIn(current));
      place(current, item);
      say(message);
    };
    send(url, fields, restore);
  }

  function label(value) {
    const item = itemIn(current);
    if (!isLabelable(item)) return;
    const note = item.querySelector("textarea.note");
    submit(root.dataset.labelUrl, { value: value, note: note ? note.value : "" });
  }

  function skip() {
    const item = itemIn(current);
    if (!isLabelable(item) || item.dataset.label !== "") return;
    submit(root.dataset.skipUrl, {});
  }

  function afterUndo(action) {
    if (undoing) undoing.then(action);
    else action();
  }

  function undo() {
    const step = (undoing || Promise.resolve()).then(undoNow).catch((error) => {
      say("Could not go back.");
      console.error(error);
    });
    undoing = step;
    step.then(() => {
      if (undoing === step) undoing = null;
    });
  }

  async function undoNow() {
    await inFlight; // the label being sent must be stored before we ask for it back
    const shown = itemIn(current);
    const editing = shown && shown.dataset.label;
    let url = root.dataset.undoUrl;
    if (editing) url += "?before=" + encodeURIComponent(shown.dataset.assignment);
    let response;
    try {
      response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    } catch (error) {
      say("Network error: could not go back. Press u again.");
      return;
    }
    if (response.status === 204) {
      say("Nothing to undo.");
      return;
    }
    if (!response.ok) {
      say("Could not go back (" + response.status + ").");
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    // The item on screen waits in #ahead (replacing the one held there, which the server
    // serves again later); when already editing, the item on screen is simply replaced.
    if (!editing && shown) place(ahead, shown);
    place(current, itemIn(holder));
    shownAt = performance.now();
    say("");
  }

  function toggleNote() {
    const item = itemIn(current);
    const note = item && item.querySelector("textarea.note");
    if (!note) return;
    note.hidden = false;
    note.focus();
  }

  function toggleHelp() {
    help.hidden = !help.hidden;
  }

  function labelByKey(key) {
    const item = itemIn(current);
    const choice = item && item.querySelector('button.choice[data-key="' + CSS.escape(key) + '"]');
    if (choice) label(choice.dataset.value);
  }

  const actions = {
    skip: () => afterUndo(skip),
    undo: undo,
    note: () => afterUndo(toggleNote),
    help: toggleHelp,
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest && event.target.closest("textarea, input, select");
    if (typing) {
      if (event.key === "Escape" || (event.key === "Enter" && !event.shiftKey)) {
        event.preventDefault();
        event.target.blur();
      }
      return;
    }
    // A key held down repeats: one press is one label (or one undo), never a run of them.
    if (event.repeat) return;
    const key = event.key;
    if (/^[1-9]$/.test(key)) {
      // Label keys are 1 to 9 (annotate/schemes.py); which choice it is, is read from the item
      // on screen once any undo on its way has brought its item back.
      event.preventDefault();
      afterUndo(() => labelByKey(key));
    } else if (key === "s") {
      afterUndo(skip);
    } else if (key === "u") {
      undo();
    } else if (key === "n") {
      event.preventDefault(); // the "n" must not land in the note it opens
      afterUndo(toggleNote);
    } else if (key === "?") {
      toggleHelp();
    } else if (key === "Escape") {
      help.hidden = true;
    }
  });

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !root.contains(button)) return;
    if (button.classList.contains("choice") && current.contains(button)) {
      const value = button.dataset.value;
      afterUndo(() => label(value));
    } else if (button.dataset.action && actions[button.dataset.action]) actions[button.dataset.action]();
  });
})();
