# honest control: the instructor solutions, untouched
