/**
 * Options shared by every renderer.
 *
 * @module
 */

/** What every pure renderer takes besides its data. */
export interface RenderOptions {
  /** Visible columns available; no returned line is wider. */
  width: number;
  /** Lines available; renderers that can grow use it, the others ignore it. */
  height?: number;
  /** Emit ANSI colors (false for NO_COLOR, `--no-color`, pipes). */
  color: boolean;
}
