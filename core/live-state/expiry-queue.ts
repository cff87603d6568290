/** A binary min-heap of keys by expiry time: finds the soonest-expiring key in O(log n). */
export interface ExpiryItem {
  key: string;
  expiresAt: number;
}

export class ExpiryQueue {
  private items: ExpiryItem[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): ExpiryItem | undefined {
    return this.items[0];
  }

  push(item: ExpiryItem): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  pop(): ExpiryItem | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top !== undefined && last !== undefined && this.items.length > 0) {
      this.items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the contents in O(n), e.g. to drop items that no longer describe a live key. */
  rebuild(items: ExpiryItem[]): void {
    this.items = items;
    for (let index = Math.floor(items.length / 2) - 1; index >= 0; index--) this.siftDown(index);
  }

  private siftUp(index: number): void {
    const items = this.items;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]!.expiresAt <= items[index]!.expiresAt) return;
      [items[parent], items[index]] = [items[index]!, items[parent]!];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const items = this.items;
    while (true) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && items[left]!.expiresAt < items[smallest]!.expiresAt) smallest = left;
      if (right < items.length && items[right]!.expiresAt < items[smallest]!.expiresAt) smallest = right;
      if (smallest === index) return;
      [items[smallest], items[index]] = [items[index]!, items[smallest]!];
      index = smallest;
    }
  }
}
