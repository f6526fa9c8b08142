from tickets.models import Department


def test_migrations_create_the_five_departments(db):
    assert set(Department.objects.values_list("code", flat=True)) == {
        "warehouse", "logistics", "finance", "tech_support", "quality"
    }
