// A tiny external store for React's useSyncExternalStore: a value, set(), and subscribers.
export class Store<T> {
  private value: T;
  private listeners = new Set<() => void>();
  constructor(initial: T) {
    this.value = initial;
  }
  get = (): T => this.value;
  set(next: T): void {
    this.value = next;
    for (const l of this.listeners) l();
  }
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
