// Keeps the screen on while watching (Screen Wake Lock API), and says so when it cannot.

export class WakeKeeper {
  constructor(onChange) {
    this.lock = null;
    this.onChange = onChange; // (state, detail)
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.wanted) this.acquire();
    });
  }

  async acquire() {
    this.wanted = true;
    if (!('wakeLock' in navigator)) {
      this.onChange('unsupported', 'this browser cannot keep the screen on (Screen Wake Lock '
        + 'needs a recent browser and https or localhost): turn off screen sleep in your '
        + 'device settings while watching');
      return;
    }
    try {
      this.lock = await navigator.wakeLock.request('screen');
      this.onChange('active', 'the screen stays on while this page is visible');
      this.lock.addEventListener('release', () => {
        this.lock = null;
        this.onChange('released', 'screen wake lock released; it returns when the page is visible');
      });
    } catch (err) {
      this.onChange('denied', `the screen may turn off (wake lock refused: ${err.message || err}); `
        + 'turn off screen sleep in your device settings while watching');
    }
  }
}
