/** Client-side routes under /ui/ (the server answers index.html for all of them). */
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

/** Goes to an app path such as `/ui/transfers/7`. */
export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

addEventListener('popstate', () => {
  for (const l of listeners) l();
});

/** The current path, re-rendering when it changes. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const l = () => {
      setPath(location.pathname);
    };
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return path;
}

/** Makes a link's click a client-side navigation (keeping modifier clicks for new tabs). */
export function linkClick(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
