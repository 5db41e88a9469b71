// Keyboard-first labeling. Number keys label and move on, s skips, u undoes, n opens a note,
// c shows or hides a conversation's earlier turns in full, ? shows the keys. When the campaign's scheme asks questions after the label, the label's key
// brings the first question that applies, each answer the next (one key each; a multiple choice
// toggles with its keys and ends with Enter, a text ends with Enter), and the last answer sends
// it all; u walks back answer by answer before it walks back to earlier items. The next item is already in the page (#ahead), so a key press swaps it in at
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
      if (response.headers.get("Demur-Paused")) {
        // The check just answered paused the annotator (or they were already): the page says
        // why, and serves nothing more.
        window.location.reload();
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

  // The questions after the label, in the scheme's order (annotate/schemes.py).
  const questionsOf = (item) => Array.from(item.querySelectorAll(".question"));
  const activeQuestion = (item) => item.querySelector(".question.active");

  // An item's answers so far: the label under "label", then each question's, in order asked.
  function progressOf(item) {
    if (!item._progress) item._progress = { answers: {}, order: [] };
    return item._progress;
  }

  function asked(question, answers) {
    const on = question.dataset.whenQuestion;
    if (!on) return true;
    return question.dataset.whenIn.split(",").includes(String(answers[on]));
  }

  function show(item, question) {
    questionsOf(item).forEach((each) => {
      each.hidden = each !== question;
      each.classList.toggle("active", each === question);
    });
    item.classList.toggle("asking", !!question);
    if (!question) return;
    const previous = JSON.parse(item.dataset.answers || "{}")[question.dataset.question];
    question.querySelectorAll("button.answer").forEach((button) => {
      const value = question.dataset.kind === "rating" ? Number(button.dataset.value) : button.dataset.value;
      const was = Array.isArray(previous) ? previous.includes(value) : previous === value;
      button.classList.toggle("chosen", was);
    });
    const text = question.querySelector("input.answer-text");
    if (text) {
      text.value = typeof previous === "string" ? previous : "";
      text.focus();
    }
  }

  // Ask the next question that applies after the one just answered, or send the label.
  function next(item) {
    const progress = progressOf(item);
    const all = questionsOf(item);
    const last = progress.order[progress.order.length - 1];
    const start = last === "label" ? 0 : all.findIndex((q) => q.dataset.question === last) + 1;
    const question = all.slice(start).find((q) => asked(q, progress.answers));
    if (question) {
      show(item, question);
      return;
    }
    show(item, null);
    const note = item.querySelector("textarea.note");
    const answers = Object.assign({}, progress.answers);
    delete answers.label;
    item._progress = null;
    submit(root.dataset.labelUrl, {
      value: progress.answers.label,
      answers: JSON.stringify(answers),
      note: note ? note.value : "",
    });
  }

  function answer(item, id, value) {
    const progress = progressOf(item);
    progress.answers[id] = value;
    progress.order.push(id);
    next(item);
  }

  function label(value) {
    const item = itemIn(current);
    if (!isLabelable(item) || activeQuestion(item)) return;
    item._progress = null;
    item.querySelectorAll("button.choice").forEach((b) => b.classList.toggle("chosen", b.dataset.value === value));
    answer(item, "label", value);
  }

  function answerByKey(question, key) {
    const button = question.querySelector('button.answer[data-key="' + CSS.escape(key) + '"]');
    if (!button) return;
    const kind = question.dataset.kind;
    if (kind === "multi") {
      button.classList.toggle("chosen");
      return;
    }
    const value = kind === "rating" ? Number(button.dataset.value) : button.dataset.value;
    answer(question.closest("article.item"), question.dataset.question, value);
  }

  // Enter ends a multiple choice (what is toggled on) or a text (what is typed).
  function confirm(question) {
    const kind = question.dataset.kind;
    const item = question.closest("article.item");
    if (kind === "multi") {
      const chosen = Array.from(question.querySelectorAll("button.answer.chosen"));
      answer(item, question.dataset.question, chosen.map((b) => b.dataset.value));
    } else if (kind === "text") {
      const text = question.querySelector("input.answer-text");
      text.blur();
      answer(item, question.dataset.question, text.value);
    }
  }

  // Back one answer on the item on screen; false when it has none yet (undo then goes back to
  // the previous item).
  function undoAnswer() {
    const item = itemIn(current);
    const progress = item && item._progress;
    if (!progress || !progress.order.length) return false;
    const id = progress.order.pop();
    delete progress.answers[id];
    if (id === "label") {
      item._progress = null;
      item.querySelectorAll("button.choice").forEach((b) => b.classList.toggle("chosen", b.dataset.value === item.dataset.label));
      show(item, null);
    } else {
      show(item, item.querySelector('.question[data-question="' + CSS.escape(id) + '"]'));
    }
    say("");
    return true;
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

  // A conversation's earlier turns, a line each, open in full and close again (each item on
  // screen starts closed). Only classes and attributes change: the turns' text is the server's,
  // escaped, and never read or written here.
  function toggleContext() {
    const item = itemIn(current);
    if (!item) return;
    item.querySelectorAll(".context").forEach((context) => {
      const open = context.classList.toggle("open");
      const button = context.querySelector("button.context-toggle");
      if (button) button.setAttribute("aria-expanded", String(open));
    });
  }

  function labelByKey(key) {
    const item = itemIn(current);
    if (!isLabelable(item)) return;
    const question = activeQuestion(item);
    if (question) {
      answerByKey(question, key);
      return;
    }
    const choice = item.querySelector('button.choice[data-key="' + CSS.escape(key) + '"]');
    if (choice) label(choice.dataset.value);
  }

  function undoKey() {
    if (!undoing && undoAnswer()) return;
    undo();
  }

  const actions = {
    skip: () => afterUndo(skip),
    undo: undoKey,
    note: () => afterUndo(toggleNote),
    context: () => afterUndo(toggleContext),
    help: toggleHelp,
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest && event.target.closest("textarea, input, select");
    const question = typing && typing.closest(".question.active");
    if (question && event.key === "Enter") {
      event.preventDefault();
      confirm(question);
      return;
    }
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
    } else if (key === "Enter") {
      const item = itemIn(current);
      const question = item && activeQuestion(item);
      if (question) {
        event.preventDefault();
        confirm(question);
      }
    } else if (key === "u") {
      undoKey();
    } else if (key === "n") {
      event.preventDefault(); // the "n" must not land in the note it opens
      afterUndo(toggleNote);
    } else if (key === "c") {
      afterUndo(toggleContext);
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
    } else if (button.classList.contains("answer") && current.contains(button)) {
      answerByKey(button.closest(".question"), button.dataset.key);
    } else if (button.dataset.action === "confirm" && current.contains(button)) {
      confirm(button.closest(".question"));
    } else if (button.dataset.action && actions[button.dataset.action]) actions[button.dataset.action]();
  });
})();
