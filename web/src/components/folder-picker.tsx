/** Picks a folder inside the configured volumes (GET /api/v1/volumes, /api/v1/volumes/folders). */
import { useState } from 'preact/hooks';
import { ErrorBox } from './ui.tsx';
import { useApi } from '../data.ts';

interface Volume {
  path: string;
  alias: string | null;
}
interface Listing {
  path: string;
  parent: string | null;
  items: { name: string; path: string; kind: 'folder' | 'file' }[];
}

/** A labelled path field with a browse panel limited to the volumes. */
export function FolderPicker(props: {
  label: string;
  name: string;
  value: string;
  onChange: (p: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [at, setAt] = useState<string | null>(null);
  const volumes = useApi<Volume[]>(open ? '/api/v1/volumes' : null);
  const listing = useApi<Listing>(
    open && at ? `/api/v1/volumes/folders?path=${encodeURIComponent(at)}&limit=500` : null,
  );
  return (
    <div class="picker">
      <label>
        {props.label}
        <input
          name={props.name}
          required
          value={props.value}
          onInput={(e) => {
            props.onChange(e.currentTarget.value);
          }}
        />
      </label>
      <button
        type="button"
        aria-expanded={open}
        onClick={() => {
          setOpen(!open);
        }}
      >
        Browse…
      </button>
      {open ? (
        <div class="browse" role="group" aria-label={`Browse for ${props.label}`}>
          <ErrorBox error={volumes.error ?? listing.error} />
          {at === null ? (
            <ul class="plain">
              {(volumes.data ?? []).map((v) => (
                <li key={v.path}>
                  <button
                    type="button"
                    onClick={() => {
                      setAt(v.path);
                    }}
                  >
                    {v.alias ?? v.path}
                  </button>
                </li>
              ))}
              {volumes.data?.length === 0 ? (
                <li class="muted">No volumes are configured.</li>
              ) : null}
            </ul>
          ) : (
            <>
              <p>
                <code>{at}</code>{' '}
                <button
                  type="button"
                  onClick={() => {
                    props.onChange(at);
                    setOpen(false);
                  }}
                >
                  Use this folder
                </button>{' '}
                <button
                  type="button"
                  onClick={() => {
                    setAt(listing.data?.parent ?? null);
                  }}
                >
                  Up
                </button>
              </p>
              <ul class="plain">
                {(listing.data?.items ?? [])
                  .filter((i) => i.kind === 'folder')
                  .map((i) => (
                    <li key={i.path}>
                      <button
                        type="button"
                        onClick={() => {
                          setAt(i.path);
                        }}
                      >
                        📁 {i.name}
                      </button>
                    </li>
                  ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
