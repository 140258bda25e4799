import { h } from "./dom.js";

/**
 * A small Markdown renderer for agent answers, written for safety first: it builds DOM nodes
 * and never assigns HTML, so markup in an answer (`<img onerror=…>`, `<script>`) shows as text.
 * Links keep only http(s) and mailto targets and open in a new tab with rel="noopener
 * noreferrer"; anything else (javascript:, data:) is drawn as plain text. It covers what models
 * write: headings, paragraphs, bullet and numbered lists, block quotes, fenced code (with a copy
 * button), GFM tables, rules, and inline bold, italic, code and links. It is re-run on the whole
 * message as it streams, so a half-written table or code fence simply shows as it stands.
 */
export function renderMarkdown(source: string): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) { i++; continue; }

    const fence = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(fence[1]!)) body.push(lines[i++]!);
      i++; // the closing fence (absent while it streams)
      out.append(codeBlock(body.join("\n"), fence[2] ?? ""));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Answers sit under the page's own headings: # and ## become h3, ### h4, and so on.
      const level = Math.min(6, Math.max(3, heading[1]!.length + 1)) as 3 | 4 | 5 | 6;
      out.append(h(`h${level}`, {}, ...inline(heading[2]!.replace(/\s+#+\s*$/, ""))));
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { out.append(h("hr")); i++; continue; }
    if (isTableStart(lines, i)) {
      const rows: string[][] = [];
      const head = cells(line);
      i += 2;
      while (i < lines.length && lines[i]!.includes("|") && lines[i]!.trim()) rows.push(cells(lines[i++]!));
      out.append(table(head, rows));
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) body.push(lines[i++]!.replace(/^\s*>\s?/, ""));
      out.append(h("blockquote", {}, renderMarkdown(body.join("\n"))));
      continue;
    }
    const item = listItem(line);
    if (item) {
      const list = h(item.ordered ? "ol" : "ul");
      if (item.ordered && item.start !== 1) list.setAttribute("start", String(item.start));
      while (i < lines.length) {
        const next = listItem(lines[i]!);
        if (!next || next.ordered !== item.ordered) break;
        const text = [next.text];
        i++;
        // Continuation lines of the item (indented, not a new item).
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]!) && !listItem(lines[i]!)) text.push(lines[i++]!.trim());
        list.append(h("li", {}, ...inline(text.join(" "))));
      }
      out.append(list);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim() && !startsBlock(lines, i)) para.push(lines[i++]!.trim());
    if (para.length === 0) para.push(lines[i++]!.trim());
    out.append(h("p", {}, ...inline(para.join(" "))));
  }
  return out;
}

function listItem(line: string): { ordered: boolean; start: number; text: string } | undefined {
  const m = /^\s{0,3}(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/.exec(line);
  if (!m) return undefined;
  return { ordered: !m[1], start: m[2] ? Number(m[2]) : 1, text: m[3]! };
}

function startsBlock(lines: string[], i: number): boolean {
  const line = lines[i]!;
  return /^\s*(```|~~~)/.test(line) || /^#{1,6}\s/.test(line) || /^\s*>/.test(line) || !!listItem(line)
    || isTableStart(lines, i) || /^\s*([-*_])(\s*\1){2,}\s*$/.test(line);
}

function isTableStart(lines: string[], i: number): boolean {
  return lines[i]!.includes("|") && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(lines[i + 1]!);
}

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

function table(head: string[], rows: string[][]): HTMLElement {
  const thead = h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, ...inline(c)))));
  const tbody = h("tbody", {}, ...rows.map((r) => h("tr", {}, ...head.map((_, k) => h("td", {}, ...inline(r[k] ?? ""))))));
  // A wide table scrolls inside its own box, not the page.
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Table" }, h("table", {}, thead, tbody));
}

function codeBlock(code: string, language: string): HTMLElement {
  const copy = copyButton(() => code, "Copy code");
  return h("div", { class: "code-block" },
    h("div", { class: "code-bar" }, h("span", { class: "code-lang" }, language || "code"), copy),
    h("pre", { tabindex: "0" }, h("code", language ? { "data-lang": language } : {}, code)));
}

/** A button that copies `text()` to the clipboard and says so for a moment. */
export function copyButton(text: () => string, label = "Copy"): HTMLButtonElement {
  const button = h("button", { type: "button", class: "copy", "aria-label": label, title: label }, "Copy");
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(text()).then(
      () => flash(button, "Copied"),
      () => flash(button, "Copy failed"));
  });
  return button;
}

function flash(button: HTMLButtonElement, text: string): void {
  button.textContent = text;
  button.dataset.state = text === "Copied" ? "copied" : "failed";
  setTimeout(() => { button.textContent = "Copy"; delete button.dataset.state; }, 1500);
}

/** Only these link targets are followed; the rest stay text. */
export function safeHref(href: string): string | undefined {
  const trimmed = href.trim();
  try {
    const url = new URL(trimmed, location.href);
    return /^(https?|mailto):$/.test(url.protocol) && /^(https?:\/\/|mailto:)/i.test(trimmed) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const inlinePattern = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

/** Inline Markdown as nodes: code spans, bold, italic, links and bare URLs. */
function inline(text: string): Node[] {
  const nodes: Node[] = [];
  let rest = text;
  while (rest) {
    const m = inlinePattern.exec(rest);
    if (!m) { nodes.push(document.createTextNode(rest)); break; }
    if (m.index > 0) nodes.push(document.createTextNode(rest.slice(0, m.index)));
    if (m[2] !== undefined) nodes.push(h("code", {}, m[2].trim() || m[2]));
    else if (m[3] !== undefined || m[4] !== undefined) nodes.push(h("strong", {}, ...inline(m[3] ?? m[4]!)));
    else if (m[5] !== undefined || m[6] !== undefined) nodes.push(h("em", {}, ...inline(m[5] ?? m[6]!)));
    else if (m[7] !== undefined) nodes.push(link(m[8]!, inline(m[7])) ?? document.createTextNode(m[0]));
    else nodes.push(link(m[9]!, [document.createTextNode(m[9]!)]) ?? document.createTextNode(m[9]!));
    rest = rest.slice(m.index + m[0].length);
  }
  return nodes;
}

function link(href: string, content: Node[]): HTMLAnchorElement | undefined {
  const safe = safeHref(href);
  if (!safe) return undefined;
  return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow" }, ...content);
}
