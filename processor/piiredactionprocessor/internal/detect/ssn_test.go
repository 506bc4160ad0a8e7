package detect

import "testing"

func TestSSNNotations(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"undashed after ssn", "ssn 078051120", []string{"ssn:078051120"}},
		{"undashed after SSN#", "SSN#078051120", []string{"ssn:078051120"}},
		{"undashed in json", `{"ssn":"078051120"}`, []string{"ssn:078051120"}},
		{"undashed after social security number", "Social Security Number: 078051120.", []string{"ssn:078051120"}},
		{"undashed after soc sec", "soc. sec. 219099999", []string{"ssn:219099999"}},
		{"undashed camel key", "socialSecurityNumber=078051120", []string{"ssn:078051120"}},
		{"undashed snake key", "social_security_no=078051120", []string{"ssn:078051120"}},
		{"dotted after ssn", "SSN: 078.05.1120", []string{"ssn:078.05.1120"}},
		{"spaced after ssn", "ssn 078 05 1120", []string{"ssn:078 05 1120"}},
		{"dashed needs no word", "078-05-1120", []string{"ssn:078-05-1120"}},

		{"undashed without a word", "078051120", nil},
		{"nine-digit id", "account 078051120 id=219099999", nil},
		{"dotted without a word", "078.05.1120", nil},
		{"undashed area 666", "ssn 666051120", nil},
		{"undashed area 9xx", "ssn 900051120", nil},
		{"undashed group 00", "ssn 078001120", nil},
		{"undashed serial 0000", "ssn 078050000", nil},
		{"ten digits", "ssn 0780511201", nil},
		{"eight digits", "ssn 07805112", nil},
		{"longer dashed number", "ssn 078051120-1", nil},
		{"glued", "ssn x078051120 078051120x", nil},
		{"percent-encoded space after the word: the percent view reads it", "ssn%20078051120", []string{"ssn:078051120"}},
		{"word before another number", "ssn 2 of 3: 078051120", nil},
		{"word too far", "ssn was checked yesterday for this request: 078051120", nil},
		{"ssn inside a word", "classnames 078051120", nil},
		{"security alone", "security 078051120", nil},
		{"zip+4", "ssn zip 94103-1234", nil},
		{"dotted version", "ssn v078.05.1120", nil},
		{"phone", "ssn 415-555-0132", []string{"phone:415-555-0132"}},
	})
}
