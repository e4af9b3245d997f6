/**
 * Parse an SVG document with a real XML parser (Python's xml.dom.minidom, in a child process: the
 * tests run Python anyway and Node has none) and return what the tests check: the root element,
 * the axis labels, every text and the number of drawn lines.
 */
import { spawnSync } from 'node:child_process';

export interface ParsedSvg {
  root: string;
  width: string;
  height: string;
  xLabel: string;
  yLabel: string;
  texts: string[];
  paths: number;
}

const SCRIPT = `
import json, sys
from xml.dom import minidom
doc = minidom.parseString(sys.stdin.buffer.read())
root = doc.documentElement
def text(e): return ''.join(n.data for n in e.childNodes if n.nodeType == n.TEXT_NODE)
texts = root.getElementsByTagName('text')
by_class = {t.getAttribute('class'): text(t) for t in texts if t.getAttribute('class')}
print(json.dumps({'root': root.tagName, 'width': root.getAttribute('width'), 'height': root.getAttribute('height'),
  'xLabel': by_class.get('x-label', ''), 'yLabel': by_class.get('y-label', ''),
  'texts': [text(t) for t in texts], 'paths': len(root.getElementsByTagName('path'))}))
`;

/** Parse `svg`; throws with the parser's message when it is not well-formed XML. */
export function parseSvg(svg: string): ParsedSvg {
  const r = spawnSync('python3', ['-c', SCRIPT], { input: svg, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`not well-formed XML: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  return JSON.parse(r.stdout) as ParsedSvg;
}
