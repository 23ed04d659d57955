// eyegrad page: check the file, upload it, show the verdict and the per-face explanations.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const IMAGE_NAMES = ["eye_left", "eye_right", "gradient_left", "gradient_right", "occlusion"];
  const LABELS = { real: "Real", fake: "Fake", uncertain: "Uncertain", no_face: "No face", error: "Error" };
  let info = {
    max_upload_bytes: 8 * 1024 * 1024,
    accepted_types: ["image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff"],
    uncertain_band: [0.4, 0.6],
  };
  let previewUrl = null;
  let uploadCount = 0;

  const megabytes = (n) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB`
    : `${+(n / (1024 * 1024)).toFixed(1)} MB`);

  function showInfo() {
    $("max-size").textContent = megabytes(info.max_upload_bytes);
    $("file").accept = info.accepted_types.join(",");
    const [lo, hi] = info.uncertain_band;
    $("footer").textContent = `eyegrad · model ${info.model} (${info.feature_version}) · ` +
      `uncertain band ${lo.toFixed(2)}–${hi.toFixed(2)} · ${info.workers} worker(s)`;
  }

  /** Why a file cannot be sent, or null when it can. */
  function checkFile(file) {
    if (!info.accepted_types.includes(file.type)) {
      return `“${file.name}” is not a supported image (${file.type || "unknown type"}): ` +
        "choose a JPEG, PNG, WebP, BMP, GIF or TIFF file.";
    }
    if (file.size === 0) return `“${file.name}” is empty.`;
    if (file.size > info.max_upload_bytes) {
      return `“${file.name}” is ${megabytes(file.size)}: the limit is ${megabytes(info.max_upload_bytes)}.`;
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

  function summary(r) {
    const p = r.p_fake;
    const n = r.faces.length;
    const faces = n === 1 ? "1 face" : `${n} faces`;
    if (r.verdict === "real") return `${Math.round(100 * (1 - p))}% confidence real (p_fake ${p.toFixed(3)}, ${faces}).`;
    if (r.verdict === "fake") return `${Math.round(100 * p)}% confidence fake (p_fake ${p.toFixed(3)}, ${faces}).`;
    if (r.verdict === "uncertain") return `p_fake ${p.toFixed(3)}: too close to call (${faces}).`;
    return "No face found: eyegrad needs a roughly frontal face with both eyes visible.";
  }

  function faceCard(face, i) {
    const card = $("face-template").content.firstElementChild.cloneNode(true);
    card.querySelector(".face-title").textContent =
      `Face ${i + 1} · p_fake ${face.p_fake.toFixed(3)} · eyes found by ${face.eyes_from === "cascade" ? "the eye detector" : "face geometry"}`;
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

  function render(r) {
    resetResult();
    $("verdict").textContent = LABELS[r.verdict] || r.verdict;
    $("summary").textContent = summary(r);
    if (r.p_fake !== null) showScale(r.p_fake);
    if (r.verdict === "uncertain") {
      const [lo, hi] = info.uncertain_band;
      $("note").textContent = `The score is inside the uncertain band (${lo.toFixed(2)}–${hi.toFixed(2)}): ` +
        "a human should check this image.";
      $("note").hidden = false;
    }
    if (r.timing_ms && r.timing_ms.total !== undefined) $("timing").textContent = `analysed in ${Math.round(r.timing_ms.total)} ms`;
    drawBoxes(r.faces);
    $("faces").replaceChildren(...r.faces.map(faceCard));
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
