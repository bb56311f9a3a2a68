import { connectAgent } from './lib/index.js';
import { $, demoToken, el, renderMessages, showError } from './demo-common.js';

// The agent's portal: the client library's AgentClient on /agent.
const chats = new Map(); // chatId -> {messages, state, ended, deleteRequested, joined}
let current = null;
let client = null;

const chat = (chatId) => {
  if (!chats.has(chatId)) chats.set(chatId, { messages: [], state: '?', ended: false, deleteRequested: false, joined: false, service: '' });
  return chats.get(chatId);
};

function renderAssigned() {
  $('#assigned').replaceChildren(
    ...[...chats.entries()].map(([chatId, c]) =>
      el(
        'li',
        { dataset: { chat: chatId } },
        `${chatId} ${c.service} ${c.customer ?? ''} ${c.ended ? '(ended)' : ''} `,
        el('button', { class: 'join', dataset: { chat: chatId }, onclick: () => join(chatId).catch(showError) }, c.joined ? 'Open' : 'Join'),
      ),
    ),
  );
}

function renderChat() {
  if (!current) return;
  const c = chat(current);
  $('#chat').hidden = false;
  $('#chatId').textContent = current;
  $('#recState').textContent = c.state;
  $('#recState').className = `state ${c.state}`;
  $('#ended').textContent = c.ended ? 'The chat has ended.' : '';
  $('#deleteRequested').hidden = !c.deleteRequested;
  renderMessages($('#messages'), c.messages);
}

async function join(chatId) {
  const reply = await client.join(chatId); // the history arrives as message events
  const c = chat(chatId);
  c.joined = true;
  c.state = reply.recordingState;
  current = chatId;
  renderAssigned();
  renderChat();
}

const act = (fn) => () => {
  if (current) fn(current).catch(showError);
};

async function start(token) {
  client = await connectAgent({ url: location.origin, token });
  window.demoClient = client;
  const status = (s) => {
    $('#status').textContent = s;
    $('#status').className = `state ${s}`;
  };
  status(client.connectionState);
  client.on('status', (s) => status(s.state));
  client.on('chat.assigned', (a) => {
    Object.assign(chat(a.chatId), { service: a.service, customer: a.customer.name ?? a.customer.id ?? '' });
    renderAssigned();
  });
  client.on('message', (m) => {
    chat(m.chatId).messages.push({ ...m, own: false });
    if (m.chatId === current) renderChat();
  });
  client.on('sent', (s) => {
    const c = chat(s.chatId);
    const pending = c.messages.find((m) => m.own && m.clientMsgId === s.clientMsgId);
    if (pending) Object.assign(pending, { seq: s.seq, at: s.at });
    renderChat();
  });
  client.on('recording.state', (s) => {
    chat(s.chatId).state = s.state;
    renderChat();
  });
  client.on('recording.deleteRequested', (d) => {
    chat(d.chatId).deleteRequested = true;
    renderChat();
  });
  client.on('chat.ended', (e) => {
    chat(e.chatId).ended = true;
    renderAssigned();
    renderChat();
  });
  client.on('error', showError);

  $('#compose').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('#text').value;
    if (!text || !current) return;
    $('#text').value = '';
    const c = chat(current);
    const sending = client.send(current, text);
    c.messages.push({ text, own: true, from: { role: 'agent', name: null }, clientMsgId: undefined });
    const pending = c.messages[c.messages.length - 1];
    renderChat();
    sending.then(
      (sent) => {
        Object.assign(pending, { seq: sent.seq, at: sent.at, clientMsgId: sent.clientMsgId });
        renderChat();
      },
      (err) => {
        c.messages.splice(c.messages.indexOf(pending), 1);
        renderChat();
        showError(err);
      },
    );
  });
  $('#pause').addEventListener(
    'click',
    act(async (id) => ((chat(id).state = await client.pause(id)), renderChat())),
  );
  $('#resume').addEventListener(
    'click',
    act(async (id) => ((chat(id).state = await client.resume(id)), renderChat())),
  );
  $('#deleteRecording').addEventListener(
    'click',
    act((id) => client.deleteRecording(id)),
  );
  $('#end').addEventListener(
    'click',
    act((id) => client.end(id)),
  );
  $('#flag').addEventListener(
    'click',
    act((id) => client.flagAbusive(id, $('#flagReason').value.trim() || 'abusive')),
  );
  $('#transfer').addEventListener(
    'click',
    act(async (id) => (await client.transfer(id, $('#transferTo').value.trim()), (chat(id).joined = false), renderAssigned())),
  );
  $('#joinById').addEventListener('click', () => join($('#joinId').value.trim()).catch(showError));
}

const q = new URLSearchParams(location.search);
const agent = q.get('agent') ?? 'agent-1';
$('#who').textContent = `${q.get('name') ?? agent} (${agent}, ${q.get('company') ?? 'demo'})`;
demoToken(q.get('role') ?? 'agent', q.get('company') ?? 'demo', agent, q.get('name') ?? undefined)
  .then(start, () => {
    // No token route (production): paste a token from the identity provider.
    $('#tokenForm').hidden = false;
    $('#useToken').addEventListener('click', () => {
      $('#tokenForm').hidden = true;
      start($('#token').value.trim()).catch(showError);
    });
  })
  .catch(showError);
