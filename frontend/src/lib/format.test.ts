import { describe, expect, it } from "vitest";
import { countOf, formatCalendarDate, formatCountdown, formatDeadline, formatMoment, formatMoney, secondsLeft } from "./format";

describe("countdown", () => {
  it("counts whole seconds down to zero, never below", () => {
    expect(secondsLeft(10_500, 0)).toBe(10);
    expect(secondsLeft(0, 5000)).toBe(0);
  });
  it("formats minutes and hours", () => {
    expect(formatCountdown(65)).toBe("01:05");
    expect(formatCountdown(3725)).toBe("1:02:05");
  });
});

describe("money", () => {
  it("shows dollars with cents", () => {
    expect(formatMoney(1234.5)).toBe("$1,234.50");
  });
});

describe("counts", () => {
  it("say one thing in the singular and any other number in the plural", () => {
    expect(countOf(1, "item")).toBe("1 item");
    expect(countOf(0, "item")).toBe("0 items");
    expect(countOf(1204, "review")).toBe("1,204 reviews");
    expect(countOf(2, "child", "children")).toBe("2 children");
  });
});

describe("calendar dates", () => {
  it("read as the weekday and day of the date sent, in any time zone", () => {
    expect(formatCalendarDate("2026-12-04")).toBe("Fri, Dec 4");
    expect(formatCalendarDate("2027-01-01")).toBe("Fri, Jan 1");
  });
  it("show what is not a date as it came", () => {
    expect(formatCalendarDate("soon")).toBe("soon");
  });
});

describe("moments", () => {
  it("read as month, day, year and the time to the minute", () => {
    const moment = new Date(2026, 10, 27, 13, 41, 52).getTime();
    expect(formatMoment(moment)).toBe("Nov 27, 2026, 1:41 PM");
  });
});

describe("deadlines", () => {
  it("read as the time alone on the same day, and as the whole moment on another", () => {
    const now = new Date(2026, 10, 27, 18, 30).getTime();
    expect(formatDeadline(new Date(2026, 10, 27, 18, 45).getTime(), now)).toBe("6:45 PM");
    const tomorrow = new Date(2026, 10, 28, 0, 5).getTime();
    expect(formatDeadline(tomorrow, now)).toBe("Nov 28, 2026, 12:05 AM");
  });
});
