from django.db import migrations

ROLES = ("agent", "senior_agent", "supervisor", "department_staff", "admin")
DEPARTMENTS = (
    ("warehouse", "仓库", "Warehouse"),
    ("logistics", "物流", "Logistics"),
    ("finance", "财务", "Finance"),
    ("tech_support", "技术支持", "Tech support"),
    ("quality", "品控", "Quality"),
)


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Department = apps.get_model("tickets", "Department")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    for code, name, name_en in DEPARTMENTS:
        Department.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
