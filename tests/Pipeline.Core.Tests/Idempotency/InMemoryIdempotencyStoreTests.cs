using Pipeline.Core.Idempotency;
using Pipeline.Testing.Idempotency;

namespace Pipeline.Core.Tests.Idempotency;

public sealed class InMemoryIdempotencyStoreTests : IdempotencyStoreContract
{
    protected override IIdempotencyStore CreateStore() => new InMemoryIdempotencyStore();

    // Its records live in the instance, so "another instance over the same data" is the instance itself.
    protected override IIdempotencyStore OpenAnotherInstance() => Store;
}
