// eyegrad page: check the file, upload it, show the verdict and, for an image, the per-face
// explanations; for a video, the timeline of p_fake over time and the frames that drove it.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const IMAGE_NAMES = ["eye_left", "eye_right", "gradient_left", "gradient_right", "occlusion"];
  const LABELS = { real: "Real", fake: "Fake", uncertain: "Uncertain", no_face: "No face", error: "Error" };
  const EYES_FROM = { landmarks: "placed by the landmark model", cascade: "found by the eye cascade", geometry: "placed from the face box" };
  const GENERIC_TYPES = ["", "application/octet-stream"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  // the timeline plot, in SVG user units (it scales to the width of its box)
  const PLOT = { width: 480, height: 200, left: 36, right: 12, top: 10, bottom: 28 };
  // until /api/info answers: the server's defaults
  let info = {
    max_upload_bytes: 8 * 1024 * 1024,
    max_video_upload_bytes: 32 * 1024 * 1024,
    accepted_types: ["image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff",
      "video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "video/x-msvideo"],
    video_suffixes: [".avi", ".mkv", ".mov", ".mp4", ".webm"],
    threshold: 0.5,
    uncertain_band: [0.4, 0.6],
  };
  let previewUrl = null;
  let uploadCount = 0;

  const megabytes = (n) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB`
    : `${+(n / (1024 * 1024)).toFixed(1)} MB`);

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function showInfo() {
    $("max-size").textContent = megabytes(info.max_upload_bytes);
    $("max-video-size").textContent = megabytes(info.max_video_upload_bytes);
    $("file").accept = [...info.accepted_types, ...info.video_suffixes].join(",");
    const [lo, hi] = info.uncertain_band;
    $("footer").textContent = `eyegrad · model ${info.model} (${info.feature_version}) · ` +
      `uncertain band ${lo.toFixed(2)}–${hi.toFixed(2)} · ${info.workers} worker(s)`;
  }

  /** Whether the server takes the file as a video: the rule of its read_upload (browsers name some
   * video types differently, so a video file name with a generic or other video type counts too). */
  function isVideo(file) {
    if (file.type.startsWith("video/") && info.accepted_types.includes(file.type)) return true;
    const dot = file.name.lastIndexOf(".");
    const suffix = dot < 0 ? "" : file.name.slice(dot).toLowerCase();
    return info.video_suffixes.includes(suffix) &&
      (GENERIC_TYPES.includes(file.type) || file.type.startsWith("video/"));
  }

  /** Why a file cannot be sent, or null when it can. */
  function checkFile(file) {
    const video = isVideo(file);
    if (!video && !info.accepted_types.includes(file.type)) {
      return `“${file.name}” is not a supported image or video (${file.type || "unknown type"}): ` +
        "choose a JPEG, PNG, WebP, BMP, GIF or TIFF image or an MP4, WebM, MOV, MKV or AVI video.";
    }
    if (file.size === 0) return `“${file.name}” is empty.`;
    const limit = video ? info.max_video_upload_bytes : info.max_upload_bytes;
    if (file.size > limit) {
      return `“${file.name}” is ${megabytes(file.size)}: ` +
        `the limit is ${megabytes(limit)} for ${video ? "a video" : "an image"}.`;
    }
    return null;
  }

  function setResult(state, verdict) {
    const result = $("result");
    result.dataset.state = state;
    if (verdict) result.dataset.verdict = verdict;
    else delete result.dataset.verdict;
  }

  function resetResult() {
    $("faces").replaceChildren();
    $("boxes").replaceChildren();
    $("timeline").replaceChildren();
    $("timeline").hidden = true;
    $("key-frame-list").replaceChildren();
    $("key-frames").hidden = true;
    $("scale").hidden = true;
    $("note").hidden = true;
    $("timing").textContent = "";
  }

  function showPreview(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    const img = $("preview-img");
    const caption = `${file.name} · ${megabytes(file.size)}`;
    $("preview-name").textContent = caption;
    img.hidden = !previewUrl;
    img.onerror = () => {
      img.hidden = true;
      $("preview-name").textContent = `${caption} · the browser cannot show this image`;
    };
    if (previewUrl) img.src = previewUrl;
    else img.removeAttribute("src");
    $("analysis").hidden = false;
  }

  function showError(message) {
    resetResult();
    setResult("done", "error");
    $("verdict").textContent = LABELS.error;
    $("summary").textContent = message;
  }

  function placeBox(parent, rect, img, cls, label) {
    const [x, y, w, h] = rect;
    const el = document.createElement("div");
    el.className = `box box-${cls}`;
    el.style.left = `${(100 * x) / img.naturalWidth}%`;
    el.style.top = `${(100 * y) / img.naturalHeight}%`;
    el.style.width = `${(100 * w) / img.naturalWidth}%`;
    el.style.height = `${(100 * h) / img.naturalHeight}%`;
    if (label) {
      const tag = document.createElement("span");
      tag.className = "box-label";
      tag.textContent = label;
      el.append(tag);
    }
    parent.append(el);
  }

  /** Face and eye boxes over the preview, in percent of the image so they follow its size. */
  function drawBoxes(faces) {
    const img = $("preview-img");
    const draw = () => {
      const frame = $("boxes");
      frame.replaceChildren();
      if (!img.naturalWidth) return;
      // the overlay must cover exactly the drawn image (object-fit: contain may letterbox it)
      const scale = Math.min(img.clientWidth / img.naturalWidth, img.clientHeight / img.naturalHeight);
      const w = img.naturalWidth * scale;
      const h = img.naturalHeight * scale;
      Object.assign(frame.style, {
        left: `${(img.clientWidth - w) / 2}px`, top: `${(img.clientHeight - h) / 2}px`,
        width: `${w}px`, height: `${h}px`, right: "auto", bottom: "auto",
      });
      faces.forEach((face, i) => {
        placeBox(frame, face.box, img, "face", `face ${i + 1}`);
        face.eyes.forEach((eye) => placeBox(frame, eye, img, "eye"));
      });
    };
    if (img.complete && img.naturalWidth) draw();
    else img.addEventListener("load", draw, { once: true });
    window.onresize = draw;
  }

  function showScale(p) {
    const [lo, hi] = info.uncertain_band;
    $("zone-real").style.width = `${100 * lo}%`;
    $("zone-uncertain").style.width = `${100 * (hi - lo)}%`;
    $("zone-fake").style.width = `${100 * (1 - hi)}%`;
    $("scale-marker").style.left = `${100 * p}%`;
    $("scale").hidden = false;
  }

  const isVideoResult = (r) => Array.isArray(r.timeline);

  /** What the verdict rests on: the faces of an image; the face tracks and frames of a video. */
  function basis(r) {
    if (!isVideoResult(r)) return plural(r.faces.length, "face");
    const scored = `${plural(r.frames, "frame")} scored over ${r.duration_s.toFixed(1)} s`;
    return `${plural(r.faces.length, "face track")}, ${scored}`;
  }

  /** The verdict in words: p_fake is a score compared with the uncertain band, not a probability. */
  function summary(r) {
    const p = r.p_fake;
    const faces = basis(r);
    const [lo, hi] = info.uncertain_band;
    const band = `uncertain band ${lo.toFixed(2)}–${hi.toFixed(2)}`;
    const side = { real: `below the ${band}`, fake: `above the ${band}`, uncertain: `inside the ${band}: too close to call` };
    if (side[r.verdict]) {
      return `${LABELS[r.verdict]}: score p_fake ${p.toFixed(3)}, ${side[r.verdict]} (${faces}). ` +
        "p_fake runs from 0 (looks real) to 1 (looks fake); it is a score, not a probability.";
    }
    const where = isVideoResult(r) ? ` in the ${plural(r.frames, "frame")} scored` : "";
    return `No face found${where}: eyegrad needs a roughly frontal face with both eyes visible.`;
  }

  function faceCard(face, i) {
    const card = $("face-template").content.firstElementChild.cloneNode(true);
    card.querySelector(".face-title").textContent =
      `Face ${i + 1} · p_fake ${face.p_fake.toFixed(3)} · eyes ${EYES_FROM[face.eyes_from] || face.eyes_from}`;
    for (const name of IMAGE_NAMES) {
      const img = card.querySelector(`img.${name}`);
      if (face.explain && face.explain[name]) img.src = `data:image/png;base64,${face.explain[name]}`;
      else img.remove();
    }
    if (face.occlusion_range) {
      const [lo, hi] = face.occlusion_range;
      const biggest = Math.max(Math.abs(lo), Math.abs(hi));
      card.querySelector(".occlusion-note").textContent = biggest < 0.005
        ? "Hiding any part of the eye band leaves p_fake unchanged: no single region drives this score."
        : `Hiding one region changes p_fake by up to ${biggest.toFixed(3)}.`;
    }
    return card;
  }

  /** A new SVG element with its attributes (and a tooltip `title`), appended to `parent`. */
  function svgChild(parent, tag, attrs, title) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    if (title) svgChild(el, "title", {}).textContent = title;
    parent.append(el);
    return el;
  }

  /** Runs of consecutive sampled frames in which a track has a face: [[t, p_fake], ...] each. */
  function trackRuns(timeline, id) {
    const runs = [[]];
    for (const point of timeline) {
      const face = point.faces.find((f) => f.track === id);
      if (face) runs[runs.length - 1].push([point.t, face.p_fake]);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    return runs.filter((run) => run.length);
  }

  /** The plot's scales: seconds to x and p_fake to y, in SVG units. */
  function plotScales(r) {
    const { width, height, left, right, top, bottom } = PLOT;
    const end = Math.max(r.duration_s, ...r.timeline.map((p) => p.t), 0.001);
    return {
      end,
      x: (t) => left + ((width - left - right) * t) / end,
      y: (p) => top + (height - top - bottom) * (1 - p),
    };
  }

  /** The verdict rule behind the lines (uncertain band shaded, threshold dashed) and the axes. */
  function drawPlotFrame(plot, { x, y, end }) {
    const { left, right, top, width, height } = PLOT;
    const [lo, hi] = info.uncertain_band;
    svgChild(plot, "rect", { x: left, y: y(hi), width: width - left - right, height: y(lo) - y(hi), class: "band" },
      `uncertain band ${lo.toFixed(2)}–${hi.toFixed(2)}`);
    const t = y(info.threshold);
    svgChild(plot, "line", { x1: left, x2: width - right, y1: t, y2: t, class: "threshold" },
      `threshold ${info.threshold.toFixed(2)}`);
    svgChild(plot, "polyline", { points: `${left},${top} ${left},${y(0)} ${width - right},${y(0)}`, class: "axis" });
    for (const p of [0, 0.5, 1]) {
      const tick = svgChild(plot, "text", { x: left - 5, y: y(p) + 4, class: "tick", "text-anchor": "end" });
      tick.textContent = p.toFixed(1);
    }
    for (const [s, anchor] of [[0, "start"], [end, "end"]]) {
      const tick = svgChild(plot, "text", { x: x(s), y: height - 8, class: "tick", "text-anchor": anchor });
      tick.textContent = `${s.toFixed(1)} s`;
    }
  }

  /** One line per face track (tracks too short to count faded), frames that could not be scored
   * marked under the axis, key frames ringed. */
  function drawTracks(plot, r, { x, y }) {
    for (const p of r.timeline.filter((point) => point.error)) {
      svgChild(plot, "line", { x1: x(p.t), x2: x(p.t), y1: y(0), y2: y(0) + 6, class: "frame-error" },
        `${p.t.toFixed(2)} s: ${p.error}`);
    }
    r.tracks.forEach((track, i) => {
      const group = svgChild(plot, "g", { class: `track track-${i % 6}${track.steady ? "" : " unsteady"}` });
      for (const run of trackRuns(r.timeline, track.id)) {
        svgChild(group, "polyline", { points: run.map(([t, p]) => `${x(t)},${y(p)}`).join(" ") });
        run.forEach(([t, p]) => svgChild(group, "circle", { cx: x(t), cy: y(p), r: 3 },
          `face track ${track.id} · ${t.toFixed(2)} s · p_fake ${p.toFixed(3)}`));
      }
    });
    for (const k of r.key_frames || []) {
      svgChild(plot, "circle", { cx: x(k.t), cy: y(k.p_fake), r: 7, class: "key-ring" },
        `key frame ${k.frame} · ${k.t.toFixed(2)} s · p_fake ${k.p_fake.toFixed(3)}`);
    }
  }

  /** The timeline of a video result: p_fake over time, one line per face track, and its legend. */
  function drawTimeline(r) {
    const plot = svgChild($("timeline"), "svg", {
      viewBox: `0 0 ${PLOT.width} ${PLOT.height}`, class: "timeline-plot", role: "img",
      "aria-label": `p_fake of each face track over ${r.duration_s.toFixed(1)} s`,
    });
    const scales = plotScales(r);
    drawPlotFrame(plot, scales);
    drawTracks(plot, r, scales);
    $("timeline").append(timelineLegend(r.tracks));
    $("timeline").hidden = false;
  }

  function timelineLegend(tracks) {
    const legend = document.createElement("p");
    legend.className = "legend";
    tracks.forEach((track, i) => {
      const key = document.createElement("span");
      key.className = "key";
      const swatch = document.createElement("span");
      swatch.className = `swatch track-${i % 6}`;
      const counts = track.steady ? "" : " (too few frames to count)";
      key.append(swatch, `face track ${track.id}: p_fake ${track.p_fake.toFixed(3)}, ${plural(track.frames, "frame")}${counts}`);
      legend.append(key);
    });
    const rule = document.createElement("span");
    rule.className = "key";
    rule.textContent = "shaded: uncertain band · dashed: threshold · ringed: key frames";
    legend.append(rule);
    return legend;
  }

  function keyFrameCard(k) {
    const card = $("key-frame-template").content.firstElementChild.cloneNode(true);
    card.querySelector("img").src = `data:image/png;base64,${k.image}`;
    card.querySelector("figcaption").textContent =
      `${k.t.toFixed(2)} s · frame ${k.frame} · p_fake ${k.p_fake.toFixed(3)}`;
    return card;
  }

  function render(r) {
    resetResult();
    const video = isVideoResult(r);
    $("verdict").textContent = LABELS[r.verdict] || r.verdict;
    $("summary").textContent = summary(r);
    if (r.p_fake !== null) showScale(r.p_fake);
    if (r.verdict === "uncertain") {
      const [lo, hi] = info.uncertain_band;
      $("note").textContent = `The score is inside the uncertain band (${lo.toFixed(2)}–${hi.toFixed(2)}): ` +
        `a human should check this ${video ? "video" : "image"}.`;
      $("note").hidden = false;
    }
    if (r.timing_ms && r.timing_ms.total !== undefined) $("timing").textContent = `analysed in ${Math.round(r.timing_ms.total)} ms`;
    if (video) {
      drawTimeline(r);
      const keys = r.key_frames || [];
      $("key-frame-list").replaceChildren(...keys.map(keyFrameCard));
      $("key-frames").hidden = !keys.length;
    } else {
      drawBoxes(r.faces);
      $("faces").replaceChildren(...r.faces.map(faceCard));
    }
    setResult("done", r.verdict);
  }

  async function analyse(file) {
    const mine = ++uploadCount;
    showPreview(file);
    const problem = checkFile(file);
    if (problem) return showError(problem);
    resetResult();
    setResult("pending", null);
    $("verdict").textContent = "Analysing…";
    $("summary").textContent = "";
    const form = new FormData();
    form.append("file", file, file.name);
    let response;
    let body;
    try {
      response = await fetch("/api/detect?explain=1", { method: "POST", body: form });
      body = await response.json();
    } catch (err) {
      if (mine === uploadCount) showError(`The server did not answer properly (${err.message}).`);
      return;
    }
    if (mine !== uploadCount) return; // a newer upload replaced this one
    if (body.verdict && body.verdict !== "error") render(body);
    else showError(body.error || `The server answered HTTP ${response.status}.`);
  }

  function takeFiles(files) {
    if (files && files.length) analyse(files[0]);
  }

  function init() {
    const drop = $("drop");
    $("file").addEventListener("change", (e) => {
      takeFiles(e.target.files);
      e.target.value = "";
    });
    ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("dragging");
    }));
    ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("dragging")));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      takeFiles(e.dataTransfer.files);
    });
    // a file dropped anywhere else must not make the browser navigate away
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
    fetch("/api/info")
      .then((r) => (r.ok ? r.json() : null))
      .then((j) => { if (j) { info = j; showInfo(); } })
      .catch(() => {});
  }

  init();
})();
