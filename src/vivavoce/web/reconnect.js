// Keeping a conversation through a dropped connection: waits that grow between tries,
// and what resumes the session (its id and the token that works once, kept for this
// tab so a reload can resume too).

const WAITS_MS = [500, 1000, 2000, 4000, 8000];
const STORED = "vivavoce.resume";

export const waitBeforeTry = (attempt) => WAITS_MS[Math.min(attempt, WAITS_MS.length - 1)];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// {session_id, resume_token} of the conversation to continue, or null.
export const resumeState = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(STORED) || "null");
    } catch {
      return null;
    }
  },
  set(minted) {
    if (minted && minted.session_id && minted.resume_token) {
      sessionStorage.setItem(STORED, JSON.stringify({ session_id: minted.session_id, resume_token: minted.resume_token }));
    }
  },
  forget() {
    sessionStorage.removeItem(STORED);
  },
};
