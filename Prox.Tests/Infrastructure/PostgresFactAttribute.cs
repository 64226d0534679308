using Xunit;

namespace Prox.Tests.Infrastructure;

/// <summary>A test against a real PostgreSQL (connection string of an admin role in <c>PROX_TEST_PG</c>, which
/// <c>.ci/run</c> sets after starting one). Skipped, with the reason, where the variable is not set.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(PgTestDatabase.AdminConnectionString))
            Skip = $"needs PostgreSQL: set {PgTestDatabase.Variable} to the connection string of a role that may create databases " +
                   "(.ci/run starts one: .ci/pg start DIR prints it)";
    }
}
