/*
 * Web chat widget: one tag on any page —
 *   <script src="https://chat.example.com/webchat/widget.js" data-server="https://chat.example.com" async></script>
 * Optional: data-title="Chat with us", data-open="true" (open on load).
 * Plain JavaScript, no framework. The visitor token and the resume point (conversation + last sequence
 * number) live in localStorage, so a reload or a visit days later continues the same conversation
 * and shows what arrived meanwhile. Messages not yet acknowledged are kept too and sent again with
 * the same client id (the server stores each once). All text is inserted as text, never as HTML.
 */
/* global window, document, location, localStorage, crypto, fetch, URL, setTimeout, clearTimeout -- runs in the browser */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__webchatWidget) return;
  window.__webchatWidget = true;

  var server = (script.getAttribute('data-server') || new URL(script.src, location.href).origin).replace(/\/$/, '');
  var title = script.getAttribute('data-title') || 'Chat with us';
  var key = 'webchat:' + server + ':';
  var TYPING_IDLE_MS = 3000;

  function load(name, fallback) {
    try {
      var value = localStorage.getItem(key + name);
      return value === null ? fallback : JSON.parse(value);
    } catch {
      return fallback;
    }
  }
  function save(name, value) {
    try {
      localStorage.setItem(key + name, JSON.stringify(value));
    } catch {
      /* private mode or full storage: the chat still works for this page view */
    }
  }

  var state = load('state', { conversationId: null, lastSeq: 0 });
  var pending = load('pending', []);
  // What the page showed, so a reload renders it at once and resumes from lastSeq instead of replaying.
  var transcript = load('messages', []);
  var TRANSCRIPT_LIMIT = 100;
  var shown = {};
  var socket = null;
  var resuming = false;

  // --- DOM -----------------------------------------------------------------------------------
  var css =
    '.wc-root{position:fixed;right:20px;bottom:20px;display:flex;flex-direction:column;align-items:flex-end;z-index:2147483000;font:15px/1.4 system-ui,sans-serif;color:#1b1b1b}' +
    '.wc-launch{border:0;border-radius:28px;padding:12px 20px;background:#1f5fbf;color:#fff;font:inherit;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}' +
    '.wc-panel{width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);background:#fff;border:1px solid #c9c9c9;border-radius:10px;display:flex;flex-direction:column;box-shadow:0 4px 18px rgba(0,0,0,.2);margin-bottom:10px}' +
    '.wc-panel[hidden]{display:none}' +
    '.wc-head{display:flex;justify-content:space-between;align-items:center;padding:10px 12px;background:#1f5fbf;color:#fff;border-radius:10px 10px 0 0}' +
    '.wc-head h2{font-size:16px;margin:0}' +
    '.wc-close{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer}' +
    '.wc-log{list-style:none;margin:0;padding:10px;overflow-y:auto;flex:1}' +
    '.wc-log li{margin:6px 0;padding:7px 10px;border-radius:8px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}' +
    '.wc-customer{background:#e3edfb;margin-left:auto!important}' +
    '.wc-agent,.wc-bot{background:#f0f0f0}' +
    '.wc-system{background:transparent;color:#555;font-style:italic;max-width:100%!important;text-align:center}' +
    '.wc-pending{opacity:.6}' +
    '.wc-status{min-height:1.4em;padding:0 12px;color:#444;font-size:13px}' +
    '.wc-form,.wc-email{display:flex;gap:6px;padding:8px 10px;border-top:1px solid #e2e2e2}' +
    '.wc-email{flex-wrap:wrap}.wc-email[hidden]{display:none}.wc-email p{margin:0;width:100%;font-size:13px}' +
    '.wc-form input,.wc-email input{flex:1;min-width:0;padding:7px;border:1px solid #8a8a8a;border-radius:6px;font:inherit}' +
    '.wc-form button,.wc-email button{padding:7px 12px;border:0;border-radius:6px;background:#1f5fbf;color:#fff;font:inherit;cursor:pointer}' +
    '.wc-root :focus-visible{outline:3px solid #f5a623;outline-offset:2px}' +
    '.wc-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    for (var name in attributes) node.setAttribute(name, attributes[name]);
    if (text) node.textContent = text;
    return node;
  }

  var style = el('style', {}, css);
  var root = el('div', { class: 'wc-root' });
  var panel = el('section', { class: 'wc-panel', id: 'wc-panel', role: 'dialog', 'aria-label': title, hidden: '' });
  var head = el('div', { class: 'wc-head' });
  var heading = el('h2', {}, title);
  var close = el('button', { type: 'button', class: 'wc-close', 'aria-label': 'Close chat' }, '×');
  var log = el('ol', { class: 'wc-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
  var status = el('div', { class: 'wc-status', role: 'status' });
  var emailForm = el('form', { class: 'wc-email', hidden: '' });
  var emailNote = el('p', { id: 'wc-email-note' }, 'No agent is free right now. Leave your email and we will write to you; you can also come back to this page later.');
  var emailLabel = el('label', { for: 'wc-email-input', class: 'wc-sr' }, 'Your email address');
  var emailInput = el('input', { id: 'wc-email-input', type: 'email', autocomplete: 'email', 'aria-describedby': 'wc-email-note', required: '' });
  var emailButton = el('button', { type: 'submit' }, 'Save');
  var form = el('form', { class: 'wc-form' });
  var label = el('label', { for: 'wc-input', class: 'wc-sr' }, 'Type your message');
  var input = el('input', { id: 'wc-input', type: 'text', autocomplete: 'off', maxlength: '4000', placeholder: 'Type your message…' });
  var sendButton = el('button', { type: 'submit' }, 'Send');
  var launch = el('button', { type: 'button', class: 'wc-launch', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'wc-panel' }, 'Chat');

  head.append(heading, close);
  emailForm.append(emailNote, emailLabel, emailInput, emailButton);
  form.append(label, input, sendButton);
  panel.append(head, log, status, emailForm, form);
  root.append(panel, launch);

  // `focus` is false when the page restores the panel on load: never steal focus from the page.
  function setOpen(open, focus) {
    panel.hidden = !open;
    save('open', open);
    launch.setAttribute('aria-expanded', String(open));
    launch.setAttribute('aria-label', open ? 'Hide chat' : 'Open chat');
    if (open) start();
    if (focus) (open ? input : launch).focus();
  }
  launch.addEventListener('click', function () {
    setOpen(panel.hidden, true);
  });
  close.addEventListener('click', function () {
    setOpen(false, true);
  });
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') setOpen(false, true);
  });

  // --- messages ------------------------------------------------------------------------------
  var WHO = { customer: 'You', agent: 'Agent', bot: 'Assistant', system: 'Notice' };

  function addLine(kind, text, id) {
    var item = el('li', { class: 'wc-' + kind });
    if (id) item.setAttribute('data-id', id);
    item.append(el('span', { class: 'wc-sr' }, (WHO[kind] || kind) + ': '), document.createTextNode(text));
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function showMessage(message) {
    if (shown[message.id]) return;
    shown[message.id] = true;
    transcript.push(message);
    // Arrival order is not conversation order (own messages come back only on resume): sort by seq.
    transcript.sort(function (a, b) {
      return a.conversationId === b.conversationId ? a.seq - b.seq : a.createdAt < b.createdAt ? -1 : 1;
    });
    transcript = transcript.slice(-TRANSCRIPT_LIMIT);
    save('messages', transcript);
    var local = message.clientMessageId && log.querySelector('[data-id="c:' + message.clientMessageId + '"]');
    if (local) {
      local.setAttribute('data-id', message.id);
      local.classList.remove('wc-pending');
      return;
    }
    addLine(message.sender, message.text, message.id);
  }

  function onMessage(message) {
    showMessage(message);
    if (message.sender !== 'customer') setStatus('');
    if (resuming) return;
    // Only a contiguous sequence moves the resume point; a gap (our own messages are not echoed live,
    // or something was missed) is filled from the server, and what is already shown is skipped.
    if (message.conversationId === state.conversationId && message.seq === state.lastSeq + 1) {
      state.lastSeq = message.seq;
      save('state', state);
    } else if (message.conversationId !== state.conversationId || message.seq > state.lastSeq) {
      resume();
    }
  }

  var statusTimer = null;
  function setStatus(text, clearAfterMs) {
    status.textContent = text;
    clearTimeout(statusTimer);
    if (clearAfterMs) statusTimer = setTimeout(function () { status.textContent = ''; }, clearAfterMs);
  }

  function resume() {
    if (!socket || !socket.connected) return;
    resuming = true;
    socket.timeout(10000).emit('resume', { conversationId: state.conversationId, lastSeq: state.lastSeq }, function (error, answer) {
      resuming = false;
      if (error || !answer || !answer.ok) return;
      state = { conversationId: answer.conversationId, lastSeq: answer.lastSeq };
      save('state', state);
      if (answer.status !== 'closed' && answer.mode === 'async') emailForm.hidden = false;
      if (answer.more) resume();
    });
  }

  // --- sending -------------------------------------------------------------------------------
  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9_-]/g, '');
  }

  function transmit(item) {
    if (!socket || !socket.connected) return;
    socket.timeout(10000).emit('send', item, function (error, answer) {
      if (error || !answer) return; // kept in pending: sent again on the next connect
      if (answer.ok || answer.error.code === 'invalid_message') {
        pending = pending.filter(function (other) { return other.clientMessageId !== item.clientMessageId; });
        save('pending', pending);
      }
      var line = log.querySelector('[data-id="c:' + item.clientMessageId + '"]');
      if (answer.ok && line) line.classList.remove('wc-pending');
      if (!answer.ok) setStatus(answer.error.message);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    stopTyping();
    var item = { clientMessageId: newId(), text: text };
    pending.push(item);
    save('pending', pending);
    addLine('customer', text, 'c:' + item.clientMessageId).classList.add('wc-pending');
    transmit(item);
  });

  var typing = false;
  var typingTimer = null;
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typing && socket) socket.volatile.emit('typing', { typing: false });
    typing = false;
  }
  input.addEventListener('input', function () {
    if (!socket) return;
    if (!typing) socket.volatile.emit('typing', { typing: true });
    typing = true;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  emailForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!socket) return;
    socket.timeout(10000).emit('email', { address: emailInput.value.trim() }, function (error, answer) {
      if (error || !answer) return setStatus('Could not save your email; try again.');
      if (!answer.ok) return setStatus(answer.error.message);
      emailForm.hidden = true;
      addLine('system', 'Thanks — we will email you at ' + emailInput.value.trim() + ' when we reply.');
    });
  });

  // --- connection ----------------------------------------------------------------------------
  function token() {
    var saved = load('token', null);
    if (saved) return Promise.resolve(saved);
    return fetch(server + '/webchat/visitors', { method: 'POST' })
      .then(function (response) {
        if (!response.ok) throw new Error('token request failed: ' + response.status);
        return response.json();
      })
      .then(function (visitor) {
        save('token', visitor.token);
        return visitor.token;
      });
  }

  function connect(visitorToken) {
    socket = window.io(server + '/webchat', { auth: { visitorToken: visitorToken } });
    socket.on('connect', function () {
      setStatus('');
      resume();
      pending.forEach(transmit);
    });
    socket.on('connect_error', function (error) {
      var code = error && error.data && error.data.code;
      if (code === 'invalid_token' || code === 'expired_token' || code === 'missing_token') {
        // The server no longer knows this token (rotated secret, expiry): start as a new visitor.
        socket.close();
        save('token', null);
        state = { conversationId: null, lastSeq: 0 };
        save('state', state);
        transcript = [];
        save('messages', transcript);
        token().then(connect, failed);
      } else {
        setStatus('Reconnecting…');
      }
    });
    socket.on('disconnect', function (reason) {
      // socket.io retries by itself except after a server-side disconnect.
      if (reason === 'io server disconnect') setTimeout(function () { socket.connect(); }, 1000);
    });
    socket.on('message', onMessage);
    socket.on('notice', function (notice) {
      addLine('system', notice.text);
      if (notice.kind === 'downgraded' || notice.kind === 'after-hours') emailForm.hidden = false;
    });
    socket.on('agent-joined', function (event) {
      emailForm.hidden = true;
      addLine('system', (event.agentName || 'An agent') + ' joined the chat.');
    });
    socket.on('downgraded', function () {
      emailForm.hidden = false;
      addLine('system', 'No agent could take the chat in time, so it is now a message thread: you can leave your email and close this page — replies will be waiting here.');
    });
    socket.on('closed', function () {
      emailForm.hidden = true;
      addLine('system', 'The chat has ended. Write again any time to start a new one.');
    });
    socket.on('typing', function (signal) {
      setStatus(signal.typing ? 'The agent is typing…' : '', signal.typing ? 6000 : 0);
    });
  }

  function failed() {
    setStatus('The chat is unavailable right now. Please try again later.');
  }

  var started = false;
  function start() {
    if (started) return;
    started = true;
    var ready = window.io
      ? Promise.resolve()
      : new Promise(function (resolve, reject) {
          var loader = el('script', { src: server + '/socket.io/socket.io.js', async: '' });
          loader.onload = resolve;
          loader.onerror = reject;
          document.head.append(loader);
        });
    ready
      .then(token)
      .then(connect)
      .catch(failed);
  }

  function mount() {
    document.head.append(style);
    document.body.append(root);
    transcript.forEach(function (message) {
      shown[message.id] = true;
      addLine(message.sender, message.text, message.id);
    });
    pending.forEach(function (item) {
      addLine('customer', item.text, 'c:' + item.clientMessageId).classList.add('wc-pending');
    });
    // The panel comes back as the visitor left it; a returning visitor with a conversation reconnects
    // at once either way, so replies are there without a click.
    if (script.getAttribute('data-open') === 'true' || load('open', false)) setOpen(true, false);
    else if (state.conversationId || pending.length) start();
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
