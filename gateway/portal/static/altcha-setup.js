// Our own (no licence beyond the project's): makes the vendored ALTCHA widget (altcha/, see
// its README) work under the portal's Content-Security-Policy and speak Vietnamese, then
// starts its proof of work at once, so the person never has to do anything.
//
// The widget's "external" build ships neither its stylesheet nor its workers inline (an
// inline <style> or a blob: worker would break `style-src 'self'` and `script-src 'self'`):
// altcha.css is linked by the page, and the PBKDF2 worker is a file from this origin
// (worker-src falls back to script-src 'self'). The challenge is in the page, so the widget
// fetches nothing.
const altcha = globalThis.$altcha;
const worker = new URL("altcha/pbkdf2.js", import.meta.url);

if (altcha) {
  for (const name of ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"]) {
    altcha.algorithms.set(name, () => new Worker(worker, { name: "altcha" }));
  }
  altcha.i18n.set("vi", {
    ariaLinkLabel: "ALTCHA",
    enterCode: "Nhập mã",
    enterCodeAria: "Nhập mã bạn nghe được. Nhấn phím cách để nghe.",
    error: "Trình duyệt chưa tự kiểm tra được. Hãy gửi biểu mẫu: trang sau sẽ có cách khác.",
    expired: "Lần kiểm tra đã hết hạn. Hãy tải lại trang.",
    footer: "",
    getAudioChallenge: "Nghe mã",
    label: "Trình duyệt tự kiểm tra (bạn không cần làm gì)",
    loading: "Đang tải…",
    reload: "Tải lại",
    verify: "Kiểm tra",
    verificationRequired: "Hãy đợi trình duyệt kiểm tra xong.",
    verified: "Trình duyệt đã tự kiểm tra xong",
    verifying: "Trình duyệt đang tự kiểm tra…",
    waitAlert: "Trình duyệt đang tự kiểm tra, hãy đợi một chút.",
    cancel: "Hủy",
    enterCodeFromImage: "Để tiếp tục, hãy nhập mã trong ảnh dưới đây.",
  });
  await customElements.whenDefined("altcha-widget");
  await new Promise((resolve) => setTimeout(resolve, 0)); // the widget mounts a tick later
  for (const widget of document.querySelectorAll("altcha-widget")) {
    // Should the form be sent before the work is done, the widget finishes it first.
    widget.configure({ auto: "onsubmit" });
    widget.verify();
  }
}
