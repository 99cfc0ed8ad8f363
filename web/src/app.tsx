/** The shell: who is signed in, the navigation, the live-link banner and the page for the path. */
import { useEffect, useState } from 'preact/hooks';
import { api, currentCredential, onCredentialChange, signOut } from './api.ts';
import { ErrorBox, Link } from './components/ui.tsx';
import { asApiError } from './data.ts';
import { connectLive, disconnectLive, useLiveStatus } from './live.ts';
import { navigate, usePath } from './router.ts';
import { AuditPage } from './pages/audit.tsx';
import { ClusterPage } from './pages/cluster.tsx';
import { EventsPage } from './pages/events.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PipelinesPage } from './pages/pipelines.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { SignInPage } from './pages/signin.tsx';
import { TransferPage } from './pages/transfer.tsx';
import { TransfersPage } from './pages/transfers.tsx';
import type { ApiError } from './api.ts';

/** Who the credential belongs to (GET /api/v1/whoami). */
export interface Me {
  kind: string;
  role: 'admin' | 'user';
  user_id: number | null;
  label: string;
}

const pages = [
  { href: '/ui/', label: 'Overview', admin: false },
  { href: '/ui/transfers', label: 'Transfers', admin: false },
  { href: '/ui/events', label: 'Events', admin: false },
  { href: '/ui/audit', label: 'Audit', admin: false },
  { href: '/ui/pipelines', label: 'Pipelines', admin: true },
  { href: '/ui/cluster', label: 'Cluster', admin: true },
  { href: '/ui/settings', label: 'Health & settings', admin: false },
];

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [signedIn, setSignedIn] = useState(currentCredential() !== undefined);

  useEffect(
    () =>
      onCredentialChange(() => {
        setSignedIn(currentCredential() !== undefined);
      }),
    [],
  );
  useEffect(() => {
    if (path === '/' || path === '/ui') navigate('/ui/', true);
  }, [path]);
  useEffect(() => {
    if (!signedIn) {
      setMe(undefined);
      disconnectLive();
      return;
    }
    api<Me>('/api/v1/whoami')
      .then((m) => {
        setMe(m);
        connectLive(m.role === 'admin');
      })
      .catch((e: unknown) => {
        setError(asApiError(e));
      });
  }, [signedIn]);

  if (!signedIn) return <SignInPage />;
  if (!me) return <main>{error ? <ErrorBox error={error} /> : <p>Loading…</p>}</main>;
  const admin = me.role === 'admin';
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">Ferry</strong>
        <nav aria-label="pages">
          {pages
            .filter((p) => admin || !p.admin)
            .map((p) => (
              <Link key={p.href} href={p.href} class={isCurrent(path, p.href) ? 'current' : ''}>
                {p.label}
              </Link>
            ))}
        </nav>
        <span class="who">
          {me.label} ({me.role})
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <LinkBanner />
      <main id="main">
        <Page path={path} me={me} />
      </main>
    </>
  );
}

function isCurrent(path: string, href: string): boolean {
  return href === '/ui/' ? path === '/ui/' : path.startsWith(href);
}

/** Says when the live link is down and the page is catching up. */
function LinkBanner() {
  const { status } = useLiveStatus();
  if (status === 'open')
    return (
      <p class="link ok" role="status" data-live="open">
        Live
      </p>
    );
  const text =
    status === 'reconnecting'
      ? 'Reconnecting to Ferry… figures will catch up when the link is back.'
      : status === 'connecting'
        ? 'Connecting…'
        : 'Live updates are off (signed out or refused).';
  return (
    <p class="link down" role="status" data-live={status}>
      {text}
    </p>
  );
}

function Page({ path, me }: { path: string; me: Me }) {
  const admin = me.role === 'admin';
  const transfer = /^\/ui\/transfers\/(\d+)$/.exec(path);
  if (transfer?.[1]) return <TransferPage id={Number(transfer[1])} />;
  if (path.startsWith('/ui/transfers')) return <TransfersPage />;
  if (path.startsWith('/ui/events')) return <EventsPage admin={admin} />;
  if (path.startsWith('/ui/audit')) return <AuditPage admin={admin} />;
  if (path.startsWith('/ui/pipelines')) return admin ? <PipelinesPage /> : <NotForYou />;
  if (path.startsWith('/ui/cluster')) return admin ? <ClusterPage /> : <NotForYou />;
  if (path.startsWith('/ui/settings')) return <SettingsPage me={me} />;
  if (path === '/ui/' || path === '/ui' || path === '/') return <OverviewPage admin={admin} />;
  return (
    <p>
      No page here. <Link href="/ui/">Overview</Link>
    </p>
  );
}

function NotForYou() {
  return <p role="alert">This page is for admins.</p>;
}
