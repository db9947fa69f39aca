/**
 * Provider ids this process published recently, so a provider's quick retry is answered without
 * publishing again. Only a shortcut: the router stores each provider message once in any case.
 */
export class RecentIds {
  private readonly ids = new Map<string, true>();

  constructor(private readonly capacity = 10_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string);
  }
}
