/**
 * Keeps the end of the conversation in view while the reader is at the bottom, and lets go when
 * they scroll up. Drawing an event measures nothing: reading the page's height after each token's
 * DOM write would make the browser lay the page out from script once per token. A ResizeObserver
 * runs instead, once in each frame in which the page changed size, after the browser's own layout
 * of that frame: there the height and the scroll position are read at no cost, and the page is
 * scrolled at most once a frame, before that frame is painted.
 */
export class ScrollFollower {
  /** Asked to follow since the last frame. */
  private asked = false;
  /** Asked, for the frame being drawn now. */
  private due = false;
  private tickQueued = false;
  private scrollQueued = false;
  /** The page's height when last observed, which is its height before the change observed now. */
  private height = 0;

  /** `slack`: how near the bottom (px) still counts as at the bottom. */
  constructor(private readonly slack = 120) {
    new ResizeObserver(() => this.resized()).observe(document.documentElement);
  }

  /** Something was drawn: keep the end in view if the reader was at the bottom before it grew. */
  follow(): void {
    this.asked = true;
    if (!this.tickQueued) this.queueTick();
  }

  /** The reader asked to see the end (sent a message, opened the live task): scroll there next frame. */
  toBottom(): void {
    if (this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      window.scrollTo({ top: document.documentElement.scrollHeight });
    });
  }

  // Animation frame callbacks run before the frame's layout, and resize observers after it: a
  // request made before a frame is taken up by that frame's observation, and one that changed no
  // size expires with that frame, so a later resize of the reader's own (opening a tool's result)
  // does not scroll.
  private queueTick(): void {
    this.tickQueued = true;
    requestAnimationFrame(() => {
      this.tickQueued = false;
      this.due = this.asked;
      this.asked = false;
      if (this.due) this.queueTick();
    });
  }

  private resized(): void {
    const height = document.documentElement.scrollHeight;
    const wasAtBottom = window.innerHeight + window.scrollY >= this.height - this.slack;
    this.height = height;
    if (this.due && wasAtBottom) window.scrollTo({ top: height });
    this.due = false;
  }
}
