import { $, api, demoToken, el, showError } from './demo-common.js';

// The panel: creates chats through the flow REST (POST /v1/flow/chats, then assign) and lists the
// files delivered to the company's local export folder.
const company = () => $('#company').value.trim();

function updatePortalLink() {
  const q = new URLSearchParams({ company: company(), agent: $('#agent').value.trim(), name: $('#agentName').value.trim() });
  $('#portalLink').href = `portal.html?${q}`;
}

async function createChat() {
  const flow = await demoToken('flow', company(), 'demo-flow');
  const created = await api('POST', '/v1/flow/chats', { service: $('#service').value.trim(), customer: { name: $('#customerName').value.trim() } }, flow);
  await api('POST', `/v1/flow/chats/${encodeURIComponent(created.chatId)}/assign`, { agentId: $('#agent').value.trim() }, flow);
  const widget = `widget.html#${new URLSearchParams({ token: created.customerToken })}`;
  $('#chats').prepend(
    el(
      'li',
      { dataset: { chat: created.chatId } },
      `chat ${created.chatId} `,
      el('a', { class: 'widgetLink', href: widget, target: '_blank' }, 'open the customer widget'),
    ),
  );
}

// What the list shows now: it is rebuilt only when that changes, so that a refresh (every 3 s, or
// the button) does not replace the link someone is about to click.
let listed = null;

async function refreshFiles() {
  const { files } = await api('GET', `/demo/api/files?${new URLSearchParams({ company: company() })}`);
  const shown = JSON.stringify(files.map((f) => [f.name, f.bytes, f.modifiedAt]));
  if (shown === listed) return;
  listed = shown;
  $('#files').replaceChildren(
    ...files.map((f) =>
      el(
        'li',
        {},
        el('a', { href: '#', class: 'file', dataset: { name: f.name }, onclick: (e) => (e.preventDefault(), showFile(f.name).catch(showError)) }, f.name),
        ` ${f.bytes} bytes, ${new Date(f.modifiedAt).toLocaleTimeString()}`,
      ),
    ),
  );
}

async function showFile(name) {
  const { content } = await api('GET', `/demo/api/file?${new URLSearchParams({ company: company(), name })}`);
  $('#fileContent').textContent = content;
}

for (const id of ['#company', '#agent', '#agentName']) $(id).addEventListener('input', updatePortalLink);
$('#createChat').addEventListener('click', () => createChat().catch(showError));
$('#refreshFiles').addEventListener('click', () => refreshFiles().catch(showError));
updatePortalLink();
refreshFiles().catch(showError);
setInterval(() => refreshFiles().catch(() => undefined), 3000);
