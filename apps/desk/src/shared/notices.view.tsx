/** Transient messages (offers withdrawn, failed actions): errors are alerts, the rest polite; info fades after a while. */
import { useEffect, useRef } from 'react';
import type { Notice } from '../desk/desk.reducer';

const INFO_TTL_MS = 8_000;

export function Notices({ notices, onDismiss }: { notices: Notice[]; onDismiss(id: number): void }) {
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    for (const notice of notices) {
      if (notice.kind !== 'info' || timers.current.has(notice.id)) continue;
      timers.current.set(
        notice.id,
        setTimeout(() => onDismiss(notice.id), INFO_TTL_MS),
      );
    }
  }, [notices, onDismiss]);
  useEffect(() => {
    const started = timers.current;
    return () => started.forEach(clearTimeout);
  }, []);
  return (
    <div className="notices">
      <div role="status" aria-live="polite">
        {notices
          .filter((notice) => notice.kind === 'info')
          .map((notice) => (
            <NoticeItem key={notice.id} notice={notice} onDismiss={onDismiss} />
          ))}
      </div>
      <div role="alert">
        {notices
          .filter((notice) => notice.kind === 'error')
          .map((notice) => (
            <NoticeItem key={notice.id} notice={notice} onDismiss={onDismiss} />
          ))}
      </div>
    </div>
  );
}

function NoticeItem({ notice, onDismiss }: { notice: Notice; onDismiss(id: number): void }) {
  return (
    <p className={`notice notice-${notice.kind}`}>
      <span>{notice.text}</span>
      <button type="button" className="ghost" aria-label="Dismiss" onClick={() => onDismiss(notice.id)}>
        ×
      </button>
    </p>
  );
}
