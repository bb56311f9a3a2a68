import { connectCustomer } from './lib/index.js';
import { $, renderMessages, showError } from './demo-common.js';

// The customer's widget: the client library's CustomerClient on /customer.
const messages = [];
const render = () => renderMessages($('#messages'), messages);

async function start(token) {
  const client = await connectCustomer({ url: location.origin, token });
  window.demoClient = client; // for the browser test and the curious
  const status = (s) => {
    $('#status').textContent = s;
    $('#status').className = `state ${s}`;
  };
  status(client.connectionState);
  client.on('status', (s) => status(s.state));
  client.on('message', (m) => {
    messages.push({ ...m, own: false });
    render();
  });
  client.on('recording.state', (s) => {
    $('#recState').textContent = s.state;
    $('#recState').className = `state ${s.state}`;
  });
  client.on('consent.request', (c) => {
    $('#consentPrompt').textContent = c.prompt;
    $('#consent').hidden = false;
  });
  client.on('chat.ended', () => {
    $('#ended').textContent = 'The chat has ended.';
    $('#compose').querySelector('button').disabled = true;
  });
  client.on('error', showError);

  $('#compose').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('#text').value;
    if (!text) return;
    $('#text').value = '';
    const pending = { text, own: true, from: { role: 'customer', name: null } };
    messages.push(pending);
    render();
    client.send(text).then(
      (sent) => {
        Object.assign(pending, { seq: sent.seq, at: sent.at });
        render();
      },
      (err) => {
        messages.splice(messages.indexOf(pending), 1);
        render();
        showError(err);
      },
    );
  });
  const answer = (granted) => {
    $('#consent').hidden = true;
    client.answerConsent(granted).catch(showError);
  };
  $('#consentYes').addEventListener('click', () => answer(true));
  $('#consentNo').addEventListener('click', () => answer(false));
  $('#requestDeletion').addEventListener('click', () => client.requestDeletion().catch(showError));
  $('#end').addEventListener('click', () => client.end().catch(showError));
}

const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) start(token).catch(showError);
else {
  $('#tokenForm').hidden = false;
  $('#useToken').addEventListener('click', () => {
    $('#tokenForm').hidden = true;
    start($('#token').value.trim()).catch(showError);
  });
}
