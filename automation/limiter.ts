// At most one operation per stack, and at most `maxParallel` operations overall. Non-blocking: a caller that
// cannot start now gets `undefined` and tries again when something finishes (the portal's scheduler does).
export class StackLimiter {
    private readonly running = new Set<string>();

    constructor(readonly maxParallel: number) {
        if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new Error(`maxParallel must be a positive integer, got ${maxParallel}`);
    }

    /** Takes the stack's slot, or returns undefined when the stack is busy or all slots are taken. */
    tryAcquire(stack: string): (() => void) | undefined {
        if (this.running.has(stack) || this.running.size >= this.maxParallel) return undefined;
        this.running.add(stack);
        let released = false;
        return () => {
            if (released) return;
            released = true;
            this.running.delete(stack);
        };
    }

    isBusy(stack: string): boolean {
        return this.running.has(stack);
    }

    get active(): number {
        return this.running.size;
    }

    get full(): boolean {
        return this.running.size >= this.maxParallel;
    }
}
