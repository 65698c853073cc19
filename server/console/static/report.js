// The report download: the button says the report is being made until the file arrives (a district's Word
// report takes seconds), then the browser saves it. Without this script the form still downloads the file.
"use strict";
for (const form of document.querySelectorAll("form.report")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const status = form.querySelector(".report-status");
    const label = button.textContent;
    button.disabled = true;
    button.textContent = form.dataset.working;
    status.textContent = "";
    try {
      const url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      const answer = await fetch(url, { credentials: "same-origin" });
      if (!answer.ok) throw new Error(String(answer.status));
      const disposition = answer.headers.get("Content-Disposition") || "";
      const match = /filename\*=UTF-8''([^;]+)/.exec(disposition) || /filename="([^"]+)"/.exec(disposition);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await answer.blob());
      link.download = match ? decodeURIComponent(match[1]) : "report";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      status.textContent = form.dataset.done;
    } catch (error) {
      status.textContent = form.dataset.failed;
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}
