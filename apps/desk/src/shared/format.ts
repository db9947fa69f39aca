/** Small, locale-aware formatting for times, waits and countdowns. */
import type { Mode } from '../api/api.types';

/** `m:ss`, for offer countdowns. */
export function formatCountdown(seconds: number): string {
  const safe = Math.max(0, Math.floor(seconds));
  return `${Math.floor(safe / 60)}:${String(safe % 60).padStart(2, '0')}`;
}

/** A duration in seconds as `45s`, `3m 05s`, `2h 10m`. */
export function formatDuration(seconds: number): string {
  const safe = Math.max(0, Math.floor(seconds));
  if (safe < 60) return `${safe}s`;
  if (safe < 3_600) return `${Math.floor(safe / 60)}m ${String(safe % 60).padStart(2, '0')}s`;
  return `${Math.floor(safe / 3_600)}h ${String(Math.floor((safe % 3_600) / 60)).padStart(2, '0')}m`;
}

/** How long ago, coarse: `now`, `5m`, `3h`, `2d`. */
export function formatAge(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'now';
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export function formatClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export const modeLabel = (mode: Mode) => (mode === 'sync' ? 'Live' : 'Async');
