/**
 * A small hand-written SVG line chart of the scaling curves (calls per second against worker
 * count, both axes logarithmic), for the README. No dependency: a few dozen SVG elements.
 * It draws what it is given; it measures and judges nothing.
 */

export interface ChartSeries {
  label: string;
  color: string;
  /** SVG stroke-dasharray, or '' for a solid line. */
  dash: string;
  points: { workers: number; opsPerSecond: number }[];
}

export interface ChartOptions {
  title: string;
  subtitle: string;
  workerCounts: number[];
  series: ChartSeries[];
}

const WIDTH = 840;
const HEIGHT = 440;
const PLOT = { left: 70, top: 58, right: 560, bottom: 380 };

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function decadeLabel(exponent: number): string {
  const value = 10 ** exponent;
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

interface Scales {
  x(workers: number): number;
  y(ops: number): number;
  decades: number[];
}

function scales(o: ChartOptions): Scales {
  const values = o.series.flatMap((s) => s.points.map((p) => p.opsPerSecond)).filter((v) => v > 0);
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.ceil(Math.log10(Math.max(...values)));
  const decades = Array.from({ length: high - low + 1 }, (_, i) => low + i);
  const xLow = Math.log2(Math.min(...o.workerCounts));
  const xHigh = Math.log2(Math.max(...o.workerCounts));
  const width = PLOT.right - PLOT.left;
  const height = PLOT.bottom - PLOT.top;
  return {
    x: (workers) => PLOT.left + ((Math.log2(workers) - xLow) / Math.max(xHigh - xLow, 1)) * width,
    y: (ops) => PLOT.bottom - ((Math.log10(ops) - low) / Math.max(high - low, 1)) * height,
    decades,
  };
}

function axes(o: ChartOptions, s: Scales): string[] {
  const out: string[] = [];
  for (const d of s.decades) {
    const y = s.y(10 ** d).toFixed(1);
    out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" class="grid"/>`);
    out.push(
      `<text x="${PLOT.left - 8}" y="${y}" class="tick" text-anchor="end" dy="4">` +
        `${decadeLabel(d)}</text>`,
    );
  }
  for (const w of o.workerCounts) {
    const x = s.x(w).toFixed(1);
    out.push(`<line x1="${x}" y1="${PLOT.top}" x2="${x}" y2="${PLOT.bottom}" class="grid"/>`);
    out.push(
      `<text x="${x}" y="${PLOT.bottom + 18}" class="tick" text-anchor="middle">${w}</text>`,
    );
  }
  const midX = (PLOT.left + PLOT.right) / 2;
  out.push(
    `<text x="${midX}" y="${PLOT.bottom + 40}" class="label" text-anchor="middle">` +
      'worker threads</text>',
  );
  const midY = (PLOT.top + PLOT.bottom) / 2;
  out.push(
    `<text x="18" y="${midY}" class="label" text-anchor="middle" ` +
      `transform="rotate(-90 18 ${midY})">service calls per second (log)</text>`,
  );
  return out;
}

function lines(o: ChartOptions, s: Scales): string[] {
  const out: string[] = [];
  o.series.forEach((series, i) => {
    const pts = series.points.filter((p) => p.opsPerSecond > 0);
    const path = pts.map((p) => `${s.x(p.workers).toFixed(1)},${s.y(p.opsPerSecond).toFixed(1)}`);
    const dash = series.dash === '' ? '' : ` stroke-dasharray="${series.dash}"`;
    out.push(
      `<polyline points="${path.join(' ')}" fill="none" stroke="${series.color}" ` +
        `stroke-width="2"${dash}/>`,
    );
    for (const p of pts) {
      out.push(
        `<circle cx="${s.x(p.workers).toFixed(1)}" cy="${s.y(p.opsPerSecond).toFixed(1)}" ` +
          `r="3" fill="${series.color}"/>`,
      );
    }
    const y = PLOT.top + 6 + i * 22;
    out.push(
      `<line x1="${PLOT.right + 20}" y1="${y}" x2="${PLOT.right + 50}" y2="${y}" ` +
        `stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    out.push(
      `<text x="${PLOT.right + 56}" y="${y + 4}" class="legend">` +
        `${escapeXml(series.label)}</text>`,
    );
  });
  return out;
}

/** The chart as an SVG document. */
export function scalingSvg(o: ChartOptions): string {
  const s = scales(o);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
      `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.grid{stroke:#ddd;stroke-width:1}.tick{font-size:11px;fill:#555}' +
      '.label{font-size:12px;fill:#333}.legend{font-size:12px;fill:#222}' +
      '.title{font-size:15px;font-weight:bold;fill:#111}.sub{font-size:11px;fill:#666}</style>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="24" class="title">${escapeXml(o.title)}</text>`,
    `<text x="${PLOT.left}" y="42" class="sub">${escapeXml(o.subtitle)}</text>`,
    ...axes(o, s),
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" ` +
      `height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#999"/>`,
    ...lines(o, s),
    '</svg>',
    '',
  ].join('\n');
}
