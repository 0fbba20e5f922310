// Self-contained HTML pages (abiscope compare --html, and later trace pages): escaping, a small
// element builder and a page shell whose CSS and JS are inline. A page must open from a file
// on a machine without network and show the same thing years later, so it loads nothing: its
// Content-Security-Policy forbids every fetch, and the fonts are the system's own.

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe: built by `el` or `raw`, never from unescaped input. */
export interface Html { readonly html: string }

/** Markup written by hand in abiscope's own source (never user input). */
export const raw = (html: string): Html => ({ html });

export type Child = Html | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Element names HTML never closes. */
const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col']);

/**
 * One element: strings are escaped, attributes with a value of null, undefined or false are
 * left out, `true` gives a bare attribute. SVG elements are built the same way.
 */
export function el(tag: string, attrs: Attrs = {}, ...children: Child[]): Html {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${escapeHtml(String(v))}"`))
    .join('');
  if (VOID.has(tag)) return raw(`<${tag}${a}>`);
  return raw(`<${tag}${a}>${children.map(childHtml).join('')}</${tag}>`);
}

/** Several pieces of markup as one. */
export const join = (children: Child[]): Html => raw(children.map(childHtml).join(''));

function childHtml(c: Child): string {
  if (c === null || c === undefined || c === false) return '';
  if (typeof c === 'object') return c.html;
  return escapeHtml(String(c));
}

/**
 * Colours for things a page shows in several places (an argument in every convention's column):
 * the same index gives the same colour everywhere. Tableau 10, readable on white, distinct for
 * the usual colour-vision deficiencies as far as ten colours can be.
 */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;

export const paletteColor = (i: number): string => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

/** Styles every page shares; a page adds its own after them. */
const BASE_CSS = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #6b6b70; --line: #d0d0d6; --bg: #fff; }
* { box-sizing: border-box; }
body { margin: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
code, .mono, td, svg text { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 24px 0 8px; }
p.note { color: var(--muted); margin: 4px 0 16px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; text-align: left; }
thead th { background: #f4f4f7; }
`;

export interface PageOptions {
  title: string;
  /** The page's own CSS, after the shared styles. */
  css?: string;
  body: Html;
  /** The page's own script, run after the body is parsed. */
  script?: string;
}

/**
 * A whole document. The policy allows inline styles and scripts and `data:` images only: a page
 * that tried to load anything would fail visibly (a console error) instead of quietly needing
 * the network.
 */
export function page(o: PageOptions): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(o.title)}</title>`,
    // A closing tag inside inline CSS or JS would end the element early: abiscope writes these itself, so refuse rather than escape.
    `<style>${inline(BASE_CSS + (o.css ?? ''), 'style')}</style>`,
    '</head>',
    '<body>',
    o.body.html,
    o.script ? `<script>${inline(o.script, 'script')}</script>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function inline(text: string, tag: 'style' | 'script'): string {
  if (text.toLowerCase().includes(`</${tag}`)) throw new Error(`inline ${tag} must not contain </${tag}`);
  return text;
}
