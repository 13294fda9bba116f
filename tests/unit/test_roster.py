"""Reading a roster CSV: GitHub Classroom's export as it is, and every bad row named by its line,
nothing half-read."""

from __future__ import annotations

import pytest

from ghapp.core.roster import MAX_ROSTER_BYTES, RosterError, Student, read_roster

CLASSROOM = (
    b'"identifier","github_username","github_id","name"\n'
    b'"s1001","Alice-Dev","583231","Alice Liddell"\n'
    b'"bob@uni.example","","",""\n'
)


def test_github_classrooms_export_is_read_as_it_is():
    roster = read_roster(CLASSROOM)
    assert roster.students == (
        Student("s1001", name="Alice Liddell", login="alice-dev", github_id=583231),
        Student("bob@uni.example"),
    )
    assert roster.ignored_columns == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfidentifier;login;section\r\ns1;al;A\r\n", ("s1", "al", "A")),
        (b"Identifier\tGitHub\tGroup\ns1\t@al\tLab 2\n", ("s1", "al", "Lab 2")),
        (b"identifier,email,login\ns1,x@y.z,AL\n\n\n", ("s1", "al", "")),
    ],
)
def test_semicolons_tabs_a_bom_and_other_names_for_the_columns(data, expected):
    (student,) = read_roster(data).students
    assert (student.identifier, student.login, student.section) == expected


def test_unknown_columns_are_said_and_left_out():
    assert read_roster(b"identifier,email\ns1,a@b.c\n").ignored_columns == ("email",)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "the file is empty"),
        (b"name,login\nA,al\n", "line 1: no identifier column (the columns are: name, login)"),
        (b"identifier\n", "the file lists no students"),
        (b"identifier,login,github\ns1,a,b\n", "line 1: two columns give the login"),
        (b"identifier,login\ns1,al\n,bo\n", "line 3: no identifier"),
        (b"identifier,login\ns1,al\nS1,bo\n", "line 3: identifier 'S1' is also on line 2"),
        (b"identifier,login\ns1,al\ns2,AL\n", "line 3: GitHub login 'al' is also on line 2"),
        (b"identifier,login\ns1,not a login\n", "line 2: 'not a login' is not a GitHub login"),
        (b"identifier,login\ns1,-al\n", "line 2: '-al' is not a GitHub login"),
        (b"identifier,login\ns1,a--l\n", "line 2: 'a--l' is not a GitHub login"),
        (b"identifier,github_id\ns1,12x\n", "line 2: github_id '12x' is not a number"),
        (b"identifier\ns1\xff\n", "line 2: not UTF-8 text"),
        (b"identifier,name\ns1,A\x00B\n", "line 2: the name holds control characters"),
        (b"identifier\n" + b"x" * 300 + b"\n", "line 2: the identifier is longer than 200"),
        (b'identifier\n"s1\n', "line 2: unexpected end of data"),
    ],
)
def test_each_bad_file_names_its_problem_and_line(data, problem):
    with pytest.raises(RosterError) as err:
        read_roster(data)
    assert problem in str(err.value)


def test_every_problem_is_reported_at_once_in_line_order():
    with pytest.raises(RosterError) as err:
        read_roster(b"identifier,login\n,a\ns2,b c\ns3,ok\ns3,ok2\n")
    assert err.value.problems == [
        "line 2: no identifier",
        "line 3: 'b c' is not a GitHub login",
        "line 5: identifier 's3' is also on line 4",
    ]


def test_size_and_count_are_capped():
    with pytest.raises(RosterError, match="larger than 2 MiB"):
        read_roster(b"identifier\n" + b"s\n" * (MAX_ROSTER_BYTES // 2 + 1))
    rows = b"".join(b"s%d\n" % i for i in range(5001))
    with pytest.raises(RosterError, match="line 5002: more than 5000 students"):
        read_roster(b"identifier\n" + rows)


def test_a_spreadsheet_formula_is_kept_as_text():
    (student,) = read_roster(b'identifier,name\ns1,"=HYPERLINK(""x"")"\n').students
    assert student.name == '=HYPERLINK("x")'
