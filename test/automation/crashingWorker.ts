// A worker module for test/automation/offline.spec.ts: the real offline worker, except that stack "crash-throw"
// throws an uncaught error and stack "crash-exit" ends the thread, the way a broken program or native fault would.
import { MessagePort } from "worker_threads";
import { runRequest, serve as serveReal } from "../../automation/offlineWorker";

export function serve(port: MessagePort): void {
    serveReal(port, async (req) => {
        if (req.stack === "crash-throw") {
            setImmediate(() => {
                throw new Error("boom from the program");
            });
            return new Promise(() => undefined); // never answers: the uncaught error ends the thread first
        }
        if (req.stack === "crash-exit") process.exit(3);
        return runRequest(req);
    });
}
