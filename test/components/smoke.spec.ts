import { strict as assert } from "assert";
import { runStack } from "../harness";
describe("smoke", () => {
    it("runs dev and prod", async () => {
        const dev = await runStack("dev");
        const prod = await runStack("prod");
        assert.equal(prod.ofType("aws:ec2/natGateway:NatGateway").length, 3);
        assert.equal(dev.ofType("aws:ec2/natGateway:NatGateway").length, 1);
    });
});
