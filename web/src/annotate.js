// Draw faces as `fer-run --annotate` draws them (fer_runtime.annotate): box, landmark dots, and a filled label
// with the class and confidence, in the class's colour (runtime.json's "annotate").

/** @typedef {import("./recognizer.js").Face} Face */

/**
 * @param {CanvasRenderingContext2D} ctx  a canvas that already shows the photo
 * @param {Face[]} faces
 * @param {string[]} classes
 * @param {{colors: string[], uncertain_color: string}} palette
 */
export function drawFaces(ctx, faces, classes, palette) {
  const { width, height } = ctx.canvas;
  const scale = Math.max(0.4, Math.min(width, height) / 600);
  const thickness = Math.max(1, Math.round(2 * scale));
  ctx.save();
  ctx.font = `${Math.round(22 * scale)}px sans-serif`;
  ctx.textBaseline = "top";
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    const known = classes.indexOf(face.label);
    const color = known >= 0 ? palette.colors[known % palette.colors.length] : palette.uncertain_color;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = thickness;
    ctx.strokeRect(x + thickness / 2, y + thickness / 2, w - thickness, h - thickness);
    for (const [px, py] of face.landmarks ?? []) {
      ctx.beginPath();
      ctx.arc(px, py, thickness + 1, 0, 2 * Math.PI);
      ctx.fill();
    }
    const confidence = Math.max(...Object.values(face.scores));
    const text = `${face.track !== undefined ? `#${face.track} ` : ""}${face.label} ${Math.round(confidence * 100)}%`;
    const textHeight = Math.round(22 * scale);
    const top = Math.max(0, y - textHeight - 4);
    ctx.fillRect(x, top, ctx.measureText(text).width + 4, textHeight + 4);
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 2, top + 2);
  }
  ctx.restore();
}
