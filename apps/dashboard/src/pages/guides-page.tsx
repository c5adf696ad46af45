import { type MouseEvent, useEffect, useRef } from 'react';
import {
  type Async,
  Empty,
  ErrorMessage,
  Loading,
  PageTitle,
  useAsync,
} from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';

// The guides: docs/*.md of the repository, bundled by Vite as text (each its
// own chunk) and rendered with marked, which loads with the first guide
// opened. /guides lists them; /guides/<file name> shows one. The HTTP API
// reference stays the control plane's /docs page, made from the routes.

const SOURCES = import.meta.glob<string>('../../../../docs/*.md', {
  query: '?raw',
  import: 'default',
});

/** The guides' order in the list; a file not named here comes after these. */
const ORDER = ['getting-started', 'valve', 'auth', 'data-api'];

const slugOf = (file: string) => file.replace(/^.*\//, '').replace(/\.md$/, '');

const GUIDES = Object.entries(SOURCES)
  .map(([file, load]) => ({ slug: slugOf(file), load }))
  .sort((a, b) => rank(a.slug) - rank(b.slug) || a.slug.localeCompare(b.slug));

function rank(slug: string) {
  const at = ORDER.indexOf(slug);
  return at === -1 ? ORDER.length : at;
}

export const isGuidePath = (path: string) => path === '/guides' || path.startsWith('/guides/');

async function loadAll() {
  const { guideSummary, guideTitle } = await import('../lib/guides.ts');
  return Promise.all(
    GUIDES.map(async (guide) => {
      const text = await guide.load();
      return {
        slug: guide.slug,
        title: guideTitle(text, guide.slug),
        summary: guideSummary(text),
      };
    }),
  );
}

export function GuidePage({ path }: { path: string }) {
  const slug = path.replace(/^\/guides\/?/, '').replace(/\/+$/, '');
  const list = useAsync(loadAll, []);
  const titles = list.status === 'ok' ? list.data : [];
  return (
    <div className="guides">
      <nav aria-label="Guides" className="guides-nav">
        <Link
          to="/guides"
          className="sidebar-heading"
          aria-current={slug === '' ? 'page' : undefined}
        >
          Guides
        </Link>
        <ul>
          {titles.map((guide) => (
            <li key={guide.slug}>
              <Link
                to={`/guides/${guide.slug}`}
                aria-current={guide.slug === slug ? 'page' : undefined}
              >
                {guide.title}
              </Link>
            </li>
          ))}
          <li>
            <a href="/docs">HTTP API reference</a>
          </li>
        </ul>
      </nav>
      <main className="page guide">
        {slug === '' ? <GuideIndex list={list} /> : <Guide slug={slug} />}
      </main>
    </div>
  );
}

type GuideSummary = Awaited<ReturnType<typeof loadAll>>[number];

function GuideIndex({ list }: { list: Async<GuideSummary[]> }) {
  return (
    <>
      <PageTitle>Guides</PageTitle>
      <p>How to build on Hubstream, from a first client to the permission rules and the APIs.</p>
      {list.status === 'loading' ? <Loading /> : null}
      {list.status === 'error' ? <ErrorMessage error={list.error} onRetry={list.reload} /> : null}
      {list.status === 'ok' ? (
        <ul className="guide-list">
          {list.data.map((guide) => (
            <li key={guide.slug} className="card">
              <h2>
                <Link to={`/guides/${guide.slug}`}>{guide.title}</Link>
              </h2>
              <p className="hint">{guide.summary}</p>
            </li>
          ))}
          <li className="card">
            <h2>
              <a href="/docs">HTTP API reference</a>
            </h2>
            <p className="hint">
              Every control-plane route with its parameters, replies and errors, made from the
              routes themselves (also as <a href="/openapi.json">OpenAPI JSON</a>).
            </p>
          </li>
        </ul>
      ) : null}
    </>
  );
}

function Guide({ slug }: { slug: string }) {
  const guide = GUIDES.find((g) => g.slug === slug);
  const html = useAsync(async () => {
    if (!guide) return null;
    const [{ renderGuide }, text] = await Promise.all([import('../lib/guides.ts'), guide.load()]);
    return renderGuide(text);
  }, [slug]);
  const article = useRef<HTMLElement>(null);
  // Once shown: the title takes focus (as PageTitle does), or the heading
  // the address's #fragment names is scrolled to.
  useEffect(() => {
    if (html.status !== 'ok' || !article.current) return;
    const target = window.location.hash
      ? document.getElementById(decodeURIComponent(window.location.hash.slice(1)))
      : null;
    if (target) target.scrollIntoView();
    else {
      const title = article.current.querySelector('h1');
      title?.setAttribute('tabindex', '-1');
      title?.focus();
    }
  }, [html.status]);
  if (!guide)
    return (
      <Empty title="No such guide">
        <p>
          <Link to="/guides">See every guide</Link>
        </p>
      </Empty>
    );
  if (html.status === 'loading') return <Loading label="Loading the guide…" />;
  if (html.status === 'error') return <ErrorMessage error={html.error} onRetry={html.reload} />;
  // Links between guides stay in the page (no reload); others load as usual.
  const follow = (event: MouseEvent<HTMLElement>) => {
    const link = (event.target as HTMLElement).closest('a');
    const href = link?.getAttribute('href') ?? '';
    if (!href.startsWith('/guides') || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    navigate(href);
    const hash = href.split('#')[1];
    if (hash) requestAnimationFrame(() => document.getElementById(hash)?.scrollIntoView());
    else window.scrollTo(0, 0);
  };
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: clicks on the links inside, which Enter also fires
    <article
      ref={article}
      className="prose"
      onClick={follow}
      // biome-ignore lint/security/noDangerouslySetInnerHtml: our own Markdown from the repository, bundled at build time
      dangerouslySetInnerHTML={{ __html: html.data ?? '' }}
    />
  );
}
