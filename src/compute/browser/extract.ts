/**
 * @module compute/browser/extract
 * Page text as Markdown-ish plain text, plus its links, computed inside the page: headings become
 * `#` lines, list items `- ` lines, links `[text](href)`, table rows `|`-separated cells, form
 * fields show their label or placeholder; scripts, styles and hidden elements are skipped. Blank
 * runs are collapsed. The script is a string so it is evaluated in the page as written (no
 * compiler helpers, no Node globals).
 */

export interface ExtractedLink {
  readonly text: string;
  readonly href: string;
}

export interface Extracted {
  readonly url: string;
  readonly title: string;
  readonly text: string;
  readonly links: readonly ExtractedLink[];
}

export const EXTRACT_SCRIPT = `(() => {
  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'CANVAS', 'IFRAME', 'HEAD']);
  const BLOCK = new Set(['P', 'DIV', 'SECTION', 'ARTICLE', 'MAIN', 'HEADER', 'FOOTER', 'NAV', 'ASIDE',
    'FORM', 'FIELDSET', 'TABLE', 'UL', 'OL', 'DL', 'DT', 'DD', 'BLOCKQUOTE', 'PRE', 'FIGURE', 'HR', 'BODY']);
  const out = [];
  const links = [];
  const squash = (s) => s.replace(/\\s+/g, ' ');
  const hidden = (el) => {
    if (el.hidden) return true;
    const style = getComputedStyle(el);
    return style.display === 'none' || style.visibility === 'hidden';
  };
  const walk = (node) => {
    if (node.nodeType === 3) { out.push(squash(node.textContent || '')); return; }
    if (node.nodeType !== 1) return;
    const el = node;
    const tag = el.tagName;
    if (SKIP.has(tag) || hidden(el)) return;
    if (/^H[1-6]$/.test(tag)) {
      out.push('\\n\\n' + '#'.repeat(Number(tag[1])) + ' ' + squash(el.innerText || '').trim() + '\\n\\n');
      return;
    }
    if (tag === 'A' && el.getAttribute('href')) {
      const text = squash(el.innerText || '').trim();
      links.push({ text, href: el.href });
      out.push('[' + text + '](' + el.href + ')');
      return;
    }
    if (tag === 'BR') { out.push('\\n'); return; }
    if (tag === 'IMG') { if (el.alt) out.push('![' + squash(el.alt) + ']'); return; }
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
      const type = (el.getAttribute('type') || tag).toLowerCase();
      if (type === 'hidden') return;
      const label = (el.labels && el.labels[0] && el.labels[0].innerText) || el.getAttribute('placeholder') || el.name || type;
      const value = type === 'password' ? '' : (type === 'submit' || type === 'button') ? '' : (el.value || '');
      out.push(type === 'submit' || type === 'button' ? '[' + (el.value || 'Submit') + ']' : '[' + type + ': ' + squash(label).trim() + (value ? ' = ' + value : '') + ']');
      return;
    }
    if (tag === 'LI') out.push('\\n- ');
    else if (tag === 'TR') out.push('\\n|');
    else if (BLOCK.has(tag)) out.push('\\n\\n');
    for (const child of el.childNodes) walk(child);
    if (tag === 'TD' || tag === 'TH') out.push(' |');
    else if (BLOCK.has(tag)) out.push('\\n\\n');
  };
  if (document.body) walk(document.body);
  const text = out.join('')
    .split('\\n').map((line) => line.replace(/[ \\t]+/g, ' ').trim()).join('\\n')
    .replace(/\\n{3,}/g, '\\n\\n').trim();
  return { url: location.href, title: document.title, text, links };
})()`;
