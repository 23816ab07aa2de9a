// The microphone mode's pickers: input devices (enumerateDevices) and Whisper's languages by
// name (GET /languages, built from openai-whisper's own table, "auto" first).

export async function fillLanguages(select, wanted) {
  const res = await fetch('languages', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`GET /languages: ${res.status}`);
  const body = await res.json();
  select.options[0].textContent = `Server default (${body.default})`;
  for (const { code, name } of body.languages) {
    select.append(new Option(code === 'auto' ? name : `${name} (${code})`, code));
  }
  if (wanted) {
    const w = wanted.trim().toLowerCase();
    const hit = body.languages.find((l) => l.code === w || l.name.toLowerCase() === w);
    if (hit) select.value = hit.code;
  }
  return body.languages.length;
}

// Lists the audio inputs; labels appear only once the page may use the microphone.
export async function fillDevices(select) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return 0;
  const chosen = select.value || localStorage.getItem('whisper-desktop.device') || '';
  const inputs = (await navigator.mediaDevices.enumerateDevices())
    .filter((d) => d.kind === 'audioinput' && d.deviceId && d.deviceId !== 'default');
  select.replaceChildren(new Option('Default microphone', ''));
  inputs.forEach((d, i) => select.append(new Option(d.label || `Microphone ${i + 1}`, d.deviceId)));
  if (inputs.some((d) => d.deviceId === chosen)) select.value = chosen;
  return inputs.length;
}

export function rememberDevice(select) {
  localStorage.setItem('whisper-desktop.device', select.value);
}
