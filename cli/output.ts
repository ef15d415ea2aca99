import { writeFile } from 'node:fs/promises';
import { renderHtml } from './reporters/html.js';
import { renderJson } from './reporters/json.js';
import { renderMarkdown } from './reporters/markdown.js';
import { renderText } from './reporters/text.js';
import type { Report } from '../engine/pipeline.js';

export const REPORT_FORMATS = ['text', 'markdown', 'html', 'json'] as const;

export function renderReport(report: Report, format: string): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderText(report);
  }
}

export async function emit(text: string, out?: string): Promise<void> {
  if (out) await writeFile(out, text);
  else await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
}
