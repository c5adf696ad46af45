import { Marked, type Tokens } from 'marked';

// The guides (docs/*.md in the repository), rendered to HTML in the
// dashboard. They are our own text, bundled at build time: no user input
// reaches this renderer.

/** "Auth strategies & webhooks" -> "auth-strategies-webhooks": a heading's id, for #links. */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/&[a-z]+;/g, '')
    .replace(/[^a-z0-9\s-]/g, '')
    .trim()
    .replace(/[\s-]+/g, '-');
}

/** The title of a guide: its first level-1 heading. */
export function guideTitle(markdown: string, fallback: string): string {
  return /^# (.+)$/m.exec(markdown)?.[1]?.trim() ?? fallback;
}

/** The first paragraph after the title, as plain text: the guide's summary in the index. */
export function guideSummary(markdown: string): string {
  const body = markdown.replace(/^# .+$/m, '').trim();
  const paragraph = body.split(/\n\s*\n/).find((p) => p.trim() && !/^[#`|>-]/.test(p.trim()));
  return (paragraph ?? '')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/[`*_]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Renders a guide; every heading gets an id (slugify of its text) so #links reach it. */
export function renderGuide(markdown: string): string {
  const marked = new Marked({ gfm: true });
  marked.use({
    renderer: {
      heading(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token) {
        const inner = this.parser.parseInline(token.tokens);
        return `<h${token.depth} id="${slugify(token.text)}">${inner}</h${token.depth}>\n`;
      },
    },
  });
  // Code and tables wider than a phone scroll in their own box, which the
  // keyboard must reach: each takes a tab stop.
  return marked
    .parse(markdown, { async: false })
    .replace(/<pre>/g, '<pre tabindex="0">')
    .replace(/<table>/g, '<div class="table-scroll" tabindex="0"><table>')
    .replace(/<\/table>/g, '</table></div>');
}
