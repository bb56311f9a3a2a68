// Small helpers shared by the demo pages (no framework).
export function $(selector) {
  return document.querySelector(selector);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// JSON over fetch; a refusal becomes an Error with the service's message.
export async function api(method, path, body, bearer) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${res.status} ${data?.message ?? text}`);
  return data;
}

// A token from the demo's token route (outside production only).
export async function demoToken(role, company, sub, name) {
  return (await api('POST', '/demo/api/tokens', { role, company, sub, ...(name ? { name } : {}) })).token;
}

export function showError(err) {
  const box = $('#error');
  if (box) box.textContent = err instanceof Error ? err.message : String(err);
  console.error(err);
}

// Renders a chat's messages sorted by seq; pending (not yet acknowledged) ones last.
export function renderMessages(list, messages) {
  const sorted = [...messages].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
  list.replaceChildren(
    ...sorted.map((m) =>
      el(
        'li',
        { class: [m.own ? 'own' : '', m.seq === undefined ? 'pending' : ''].join(' ').trim(), dataset: { seq: m.seq ?? '' } },
        el('span', { class: 'who' }, m.own ? 'you' : `${m.from.name ?? m.from.role} (${m.from.role})`),
        el('span', { class: 'text' }, m.text),
        el('span', { class: 'meta' }, m.seq === undefined ? 'sending…' : `#${m.seq} ${new Date(m.at).toLocaleTimeString()}`),
      ),
    ),
  );
  list.scrollTop = list.scrollHeight;
}
