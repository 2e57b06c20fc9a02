// `byoc:customer.maintenanceWindow`: one weekly window in UTC, "Tue 02:00-04:00 UTC" (day, start, end, end after
// start on the same day; "24:00" ends at midnight). Rollouts run a customer's `up` only inside it.
export const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
export const WINDOW_PATTERN = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d) UTC$/;
export const WINDOW_MESSAGE = 'must be a weekly UTC window such as "Tue 02:00-04:00 UTC" (day Mon–Sun, HH:MM-HH:MM, end after start, same day)';

export interface MaintenanceWindow {
    day: number;
    startMinute: number;
    endMinute: number;
}

export function parseMaintenanceWindow(text: string): MaintenanceWindow | undefined {
    const m = WINDOW_PATTERN.exec(text);
    if (!m) return undefined;
    const startMinute = Number(m[2]) * 60 + Number(m[3]);
    const endMinute = Number(m[4]) * 60 + Number(m[5]);
    if (endMinute > 24 * 60 || endMinute <= startMinute) return undefined;
    return { day: DAYS.indexOf(m[1] as (typeof DAYS)[number]), startMinute, endMinute };
}

export function inMaintenanceWindow(w: MaintenanceWindow, at: Date): boolean {
    const minute = at.getUTCHours() * 60 + at.getUTCMinutes();
    return at.getUTCDay() === w.day && minute >= w.startMinute && minute < w.endMinute;
}
